#!/bin/sh
# imgsdk phase 1 for Debian images, run inside a container of the builder.
#
# In:  /imgsdk/in   image.json, apt/packages.list, apt/sources.list,
#                   apt/apt.conf.d/*, [apt/preferences.d/*], [apt/trusted.gpg.d/*],
#                   [apt/lock.tsv]  (name TAB version TAB sha256 TAB arch per package of the closure, from imgsdk.lock)
#                   [hooks/configure-builder.sh, configure-rootfs.sh, finish-rootfs.sh],
#                   [parent-packages.list]  (packages the parent image already has)
# Out: /imgsdk/out  rootfs.tar      tar of /imgsdk/root, ./-relative, numeric owners
#                   packages.json   [{name, version, arch, source, origin}] of the closure
#                   files.tsv       /path TAB package, for every file a package put there
#                   passwd.added, group.added   the lines the install (maintainer
#                                   scripts, hooks) added to /etc/passwd and /etc/group
#
# The image gets the files of the package closure (requested packages plus their
# Depends/Pre-Depends, as installed here; the parent's packages among them come too,
# marked in files.tsv but not in packages.json, so the pipeline can take what the
# parent slimmed away and this image loads) plus the
# files the install created that no package lists (maintainer scripts: alternatives,
# modules-enabled links, state directories). Paths are canonical: on a usrmerged
# builder /lib/x/libc.so.6 from a dpkg list is copied as usr/lib/x/libc.so.6 and
# /lib itself as the symlink it is here, so nothing lands twice.
#
# POSIX sh (Debian's sh is dash). Needs coreutils, findutils, tar, mawk/gawk, dpkg.
set -eu

IN=/imgsdk/in
OUT=/imgsdk/out
ROOT=/imgsdk/root
W=/imgsdk/work
TAB=$(printf '\t')
export ROOT DEBIAN_FRONTEND=noninteractive APT_LISTCHANGES_FRONTEND=none LC_ALL=C

. "$(dirname "$0")/lib.sh"

# Every path of the builder's filesystem, except what is never image content.
snapshot() {
	find / \( -path /proc -o -path /sys -o -path /dev -o -path /imgsdk -o -path /tmp \
		-o -path /run -o -path /var/lib/apt/lists -o -path /var/cache \) -prune -o -print |
		sort -u >"$1"
}

# Reads absolute paths, prints them canonical: the parent directory resolved through
# symlinks (/lib/x -> /usr/lib/x), the last component kept as is (a listed symlink
# stays a symlink). Paths that do not exist here are dropped.
canonical() {
	sed -e '/^\/\.$/d' -e '/^$/d' >"$W/canon.in"
	sed -n 's|^\(.*\)/[^/]*$|\1|p' "$W/canon.in" | sed '/^$/d' | sort -u >"$W/canon.dirs"
	# One realpath per directory, not per file.
	tr '\n' '\0' <"$W/canon.dirs" | xargs -0 -r realpath -m -- >"$W/canon.real"
	paste "$W/canon.dirs" "$W/canon.real" >"$W/canon.map"
	awk -F "$TAB" -v map="$W/canon.map" '
		BEGIN { while ((getline l < map) > 0) { split(l, kv, "\t"); real[kv[1]] = kv[2] } }
		{
			i = match($0, /\/[^\/]*$/); d = substr($0, 1, i - 1); b = substr($0, i + 1)
			r = (d == "") ? "" : real[d]; if (r == "/") r = ""
			print r "/" b
		}' "$W/canon.in" |
		while IFS= read -r p; do
			if [ -e "$p" ] || [ -L "$p" ]; then printf '%s\n' "$p"; fi
		done
}

# The dpkg list file of an installed package (Multi-Arch: same ones carry :arch).
listfile() {
	for f in "/var/lib/dpkg/info/$1:$2.list" "/var/lib/dpkg/info/$1.list"; do
		if [ -f "$f" ]; then
			printf '%s\n' "$f"
			return 0
		fi
	done
	die "no dpkg file list for $1:$2"
}

[ -f "$IN/apt/packages.list" ] || die "$IN/apt/packages.list is missing (was the image dir put at $IN?)"
mkdir -p "$OUT" "$ROOT" "$W"

log "installing the apt configuration"
if [ -f "$IN/apt/sources.list" ]; then
	# The image's sources are the only ones: drop the builder's own.
	find /etc/apt/sources.list.d -mindepth 1 -maxdepth 1 \( -name '*.list' -o -name '*.sources' \) -delete 2>/dev/null || true
	cp "$IN/apt/sources.list" /etc/apt/sources.list
fi
for d in apt.conf.d preferences.d trusted.gpg.d sources.list.d; do
	if [ -d "$IN/apt/$d" ]; then
		mkdir -p "/etc/apt/$d"
		cp -R "$IN/apt/$d/." "/etc/apt/$d/"
	fi
done
# Maintainer scripts must not start services in the builder.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
fi

# Accounts that maintainer scripts or hooks create own files of the image.
cp /etc/passwd "$W/passwd.before"
cp /etc/group "$W/group.before"

log "apt-get update"
apt-get update -q || die "apt-get update failed (check apt/sources.list and that the builder reaches the mirror)"

hook configure-builder
hook configure-rootfs

# Requested names; the closure uses the bare name (no =version, /suite, :arch).
sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$IN/apt/packages.list" >"$W/request"
[ -s "$W/request" ] || die "apt/packages.list names no packages"
sed -e 's/[=/].*//' -e 's/:.*//' "$W/request" | sort -u >"$W/roots"
touch "$W/parent"
if [ -f "$IN/parent-packages.list" ]; then
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e 's/:.*//' -e '/^$/d' "$IN/parent-packages.list" | sort -u >"$W/parent"
fi

log "snapshot before the install"
snapshot "$W/before"

# Locked (imgsdk.lock): every package of the closure at its exact version, the
# ancestors' too, checked against the archive's index first. apt then verifies each
# .deb against that index, so what is installed is what the lock names.
if [ -s "$IN/apt/lock.tsv" ]; then
	log "checking $(wc -l <"$IN/apt/lock.tsv") locked versions against the archive"
	awk -F "$TAB" '{ print $1 "=" $2 }' "$IN/apt/lock.tsv" >"$W/install"
	# shellcheck disable=SC2046 # name=version, no spaces
	apt-cache show $(cat "$W/install") 2>/dev/null | awk '
		/^Package: / { p = $2 } /^Version: / { v = $2 } /^SHA256: / { s = $2 }
		/^$/ { if (p != "") print p "\t" v "\t" s; p = v = s = "" }
		END { if (p != "") print p "\t" v "\t" s }' >"$W/index"
	# A .deb's sha256 is its architecture's: a build for another platform (arm64 from an
	# amd64 lock) checks the version, and the sha256 of what is for all architectures.
	myarch=$(dpkg --print-architecture)
	awk -F "$TAB" -v idx="$W/index" -v myarch="$myarch" '
		BEGIN { while ((getline l < idx) > 0) { split(l, f, "\t"); k = f[1] "\t" f[2]; have[k] = 1; sha[k] = sha[k] " " f[3] } }
		{
			k = $1 "\t" $2
			if (!(k in have)) { printf "imgsdk: error: imgsdk.lock pins %s %s, which the archive no longer has\n", $1, $2 > "/dev/stderr"; bad = 1 }
			else if ($3 != "" && ($4 == "" || $4 == "all" || $4 == myarch) && index(sha[k] " ", " " $3 " ") == 0) { printf "imgsdk: error: imgsdk.lock pins %s %s with sha256 %s, the archive has%s\n", $1, $2, $3, sha[k] > "/dev/stderr"; bad = 1 }
		}
		END { exit bad }' "$IN/apt/lock.tsv" ||
		die "the archive does not have the locked versions: run \`imgsdk update\` to lock what it has now, or pin the builder to a snapshot (debian.builder(id, { snapshot: 'YYYYMMDDTHHMMSSZ' })) that has them"
	opts="--allow-downgrades"
	# A lock resolved on a builder that had usrmerge pins it; on a merged-/usr builder
	# with usr-is-merged (as the official images are) installing it would put usrmerge,
	# and with it Perl, back into every closure that reaches init-system-helpers.
	if grep -q '^usrmerge=' "$W/install" && dpkg-query -W -f '${db:Status-Abbrev}' usr-is-merged 2>/dev/null | grep -q '^.i'; then
		log "not installing the locked usrmerge: this builder has usr-is-merged (\`imgsdk update\` drops it from the lock)"
		grep -v '^usrmerge=' "$W/install" >"$W/install.merged" || true
		mv "$W/install.merged" "$W/install"
	fi
else
	cp "$W/request" "$W/install"
	opts=""
fi

log "apt-get install $(tr '\n' ' ' <"$W/install")"
# shellcheck disable=SC2046,SC2086 # one package spec per line, no spaces
apt-get install -y -q --no-install-recommends $opts $(cat "$W/install") || die "apt-get install failed"

log "snapshot after the install"
snapshot "$W/after"

log "computing the package closure"
dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Architecture}\t${Pre-Depends}, ${Depends}\t${Provides}\n' >"$W/db"
awk -F "$TAB" 'substr($1, 2, 1) == "i" { print $2 "\t" $4 "\t" $5 }' "$W/db" |
	pkg_closure "$W/roots" "$W/closure.all" 'requested package ' ' is not installed' || die "cannot compute the package closure"
comm -23 "$W/closure.all" "$W/parent" >"$W/closure"
comm -12 "$W/closure.all" "$W/parent" >"$W/closure.inherited"
# Essential packages nothing depends on, whose files a program may still need: /bin/sh
# (dash) for scripts and popen/system, the C.UTF-8 locale (libc-bin). Files only; the
# pipeline keeps what a kept program uses.
for pkg in dash libc-bin; do
	if dpkg-query -W -f '${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^.i' && ! grep -qxF "$pkg" "$W/closure.all" "$W/parent"; then
		printf '%s\n' "$pkg" >>"$W/closure.inherited"
	fi
done
log "closure: $(wc -l <"$W/closure.all") packages, $(wc -l <"$W/closure") not in the parent"

log "collecting files"
: >"$W/owned.raw"
: >"$W/pkgs.tsv"
while IFS= read -r pkg; do
	info=$(dpkg-query -W -f '${Package}\t${Version}\t${Architecture}\t${source:Package}' "$pkg" | head -n 1)
	printf '%s\n' "$info" >>"$W/pkgs.tsv"
	arch=$(printf '%s\n' "$info" | cut -f 3)
	list=$(listfile "$pkg" "$arch")
	canonical <"$list" | sed "s|\$|$TAB$pkg|" >>"$W/owned.raw"
done <"$W/closure"
# The parent's packages and the essential candidates: files only (the pipeline keeps
# what the parent lacks and this image uses).
while IFS= read -r pkg; do
	arch=$(dpkg-query -W -f '${Architecture}' "$pkg" | head -n 1)
	list=$(listfile "$pkg" "$arch")
	canonical <"$list" | sed "s|\$|$TAB$pkg|" >>"$W/owned.raw"
done <"$W/closure.inherited"
sort -u "$W/owned.raw" >"$OUT/files.tsv"

# Alternatives whose chosen target belongs to the closure: /etc/alternatives/<name>
# and the link itself, which only update-alternatives knows about.
cut -f 1 "$OUT/files.tsv" | sort -u >"$W/owned"
: >"$W/alternatives"
if command -v update-alternatives >/dev/null; then
	update-alternatives --get-selections 2>/dev/null | while read -r name _ value; do
		grep -qxF "$value" "$W/owned" || continue
		# The first stanza only: the links; later ones list every candidate's targets.
		update-alternatives --query "$name" | awk -v n="$name" '
			/^$/ { exit }
			/^Link: / { print $2; print "/etc/alternatives/" n }
			/^Slaves:/ { s = 1; next } /^[A-Z]/ { s = 0 }
			s && NF == 2 { print $2; print "/etc/alternatives/" $1 }' >>"$W/alternatives"
	done
fi

# What the install created that no package lists (maintainer scripts), minus
# bookkeeping that never belongs in an image: package manager state, caches, logs,
# the account databases (the image's own are written from its accounts and those the
# install created, see passwd.added), and the init-system wiring of services (rc?.d links, systemd enablement), which
# means nothing in a container.
cat /var/lib/dpkg/info/*.list | canonical | sort -u >"$W/listed"
comm -13 "$W/before" "$W/after" | comm -23 - "$W/listed" |
	grep -Ev '^/(var/lib/dpkg|var/lib/apt|var/cache|var/log|tmp|root)(/|$)|^/etc/ld\.so\.cache$|^/usr/sbin/policy-rc\.d$' |
	grep -Ev '^/etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$' |
	grep -Ev '^/etc/rc[0-6S]\.d/|^/etc/systemd/system/[^/]+\.wants/|^/var/lib/systemd/deb-systemd-' \
		>"$W/created" || true
log "$(wc -l <"$W/created") files created by maintainer scripts"

# Every entry plus its ancestors, so directories keep their modes and owners. The
# kernel's mount points (base-files owns /proc, /sys, /dev, /run) are the runtime's:
# reading them races with the kernel ("file changed as we read it").
cat "$W/owned" "$W/alternatives" "$W/created" | canonical | awk '
	{ p = $0; while (p != "" && !(p in seen)) { seen[p] = 1; print substr(p, 2); sub(/\/[^\/]*$/, "", p) } }' |
	grep -Ev '^(proc|sys|dev|run)(/|$)' |
	sort -u >"$W/copy"

log "copying $(wc -l <"$W/copy") entries into $ROOT"
# dash has no pipefail: the reading side reports its failure through a file.
{
	tar -C / --numeric-owner --xattrs --xattrs-include='security.capability' --no-recursion \
		--verbatim-files-from --no-unquote -cf - -T "$W/copy" || echo "$?" >"$W/tar.failed"
} | tar -C "$ROOT" --numeric-owner --xattrs --xattrs-include='security.capability' -xpf - ||
	die "extracting the package files into $ROOT failed"
[ ! -e "$W/tar.failed" ] || die "reading the package files failed (tar exit $(cat "$W/tar.failed"))"

hook finish-rootfs

grep -vxF -f "$W/passwd.before" /etc/passwd >"$OUT/passwd.added" || true
grep -vxF -f "$W/group.before" /etc/group >"$OUT/group.added" || true
[ ! -s "$OUT/passwd.added" ] || log "accounts created by the install: $(cut -d: -f1 "$OUT/passwd.added" | tr '\n' ' ')"

log "writing $OUT/packages.json"
sort -t "$TAB" -k 1,1 "$W/pkgs.tsv" | awk -F "$TAB" '
	function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
	BEGIN { printf "[" }
	{ printf "%s\n  {\"name\":%s,\"version\":%s,\"arch\":%s,\"source\":%s,\"origin\":\"debian\"}", (NR > 1 ? "," : ""), q($1), q($2), q($3), q($4) }
	END { print (NR ? "\n]" : "]") }' >"$OUT/packages.json"

log "writing $OUT/rootfs.tar"
tar -C "$ROOT" --numeric-owner --xattrs --xattrs-include='security.capability' -cf "$OUT/rootfs.tar" . ||
	die "writing rootfs.tar failed"
log "done: $(wc -l <"$W/closure") packages, $(du -sk "$ROOT" | cut -f 1) KiB"
