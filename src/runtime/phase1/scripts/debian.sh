#!/bin/sh
# imgsdk phase 1 for Debian images, run inside a container of the builder.
#
# In:  /imgsdk/in   image.json, apt/packages.list, apt/sources.list,
#                   apt/apt.conf.d/*, [apt/preferences.d/*], [apt/trusted.gpg.d/*],
#                   [apt/lock.tsv]  (a row per package of the closure, from imgsdk.lock)
#                   [hooks/configure-builder.sh, configure-rootfs.sh, finish-rootfs.sh],
#                   [parent-packages.list]  (packages the parent image already has)
# Out: /imgsdk/out  rootfs.tar      tar of /imgsdk/root, ./-relative, numeric owners
#                   packages.json   [{name, version, arch, source, origin}] of the closure
#                   files.tsv       every file a package put there, with the package
#                   passwd.added, group.added   the lines the install (maintainer
#                                   scripts, hooks) added to /etc/passwd and /etc/group
#                   steps.tsv       when each step started (lib.sh mark)
#                   depends.tsv     how each Depends/Pre-Depends of the closure resolved
#                                   (lib.sh pkg_closure; the host does not resolve them again)
#                   (the columns of every list and .tsv here: src/contract/builder-files.ts)
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
# The builder's .deb cache, when deploy mounts it (apt-cache.ts).
DEBS=/imgsdk/debs
TAB=$(printf '\t')
export ROOT DEBIAN_FRONTEND=noninteractive APT_LISTCHANGES_FRONTEND=none LC_ALL=C

. "$(dirname "$0")/lib.sh"

# Every path of the builder's filesystem, except what is never image content. /run is
# listed for the directories maintainer scripts make there (slapd's /run/slapd); its
# files are never copied (see the copy list below).
snapshot() {
	find / \( -path /proc -o -path /sys -o -path /dev -o -path /imgsdk -o -path /tmp \
		-o -path /var/lib/apt/lists -o -path /var/cache \) -prune -o -print |
		sort -u >"$1"
}

# Reads absolute paths, one a line, and prints them canonical: the parent directory
# resolved through symlinks (/lib/x -> /usr/lib/x), the last component kept as is (a
# listed symlink stays a symlink). Paths that do not exist here are dropped. With
# "tagged", each path is followed by a TAB and a tag kept as is (a package name, which
# holds no TAB): the path is everything before the last TAB, as paths may hold TABs.
canonical() {
	awk -v tagged="${1:-}" '
		function lasttab(s,   i, j) { i = 0; while ((j = index(substr(s, i + 1), "\t")) > 0) i += j; return i }
		{ p = $0; t = ""; if (tagged != "" && (i = lasttab($0)) > 0) { p = substr($0, 1, i - 1); t = substr($0, i + 1) } }
		p != "" && p != "/." { print p "\t" t }' >"$W/canon.raw"
	# canon.raw: path TAB tag (empty when untagged); a path may hold TABs, a tag none.
	awk '{ i = 0; s = $0; while ((j = index(substr(s, i + 1), "\t")) > 0) i += j; print substr(s, 1, i - 1) }' "$W/canon.raw" >"$W/canon.in"
	awk '{ i = 0; s = $0; while ((j = index(substr(s, i + 1), "\t")) > 0) i += j; print substr(s, i + 1) }' "$W/canon.raw" >"$W/canon.tag"
	sed -n 's|^\(.*\)/[^/]*$|\1|p' "$W/canon.in" | sed '/^$/d' | sort -u >"$W/canon.dirs"
	# One realpath per directory, not per file.
	tr '\n' '\0' <"$W/canon.dirs" | xargs -0 -r realpath -m -- >"$W/canon.real"
	# Files read line by line, not a TAB-joined map: a directory name may hold a TAB.
	awk -v dirs="$W/canon.dirs" -v reals="$W/canon.real" -v tags="$W/canon.tag" '
		BEGIN { while ((getline d < dirs) > 0) { getline r < reals; real[d] = r } }
		{
			getline t < tags
			i = match($0, /\/[^\/]*$/); d = substr($0, 1, i - 1); b = substr($0, i + 1)
			r = (d == "") ? "" : real[d]; if (r == "/") r = ""
			print r "/" b "\t" t
		}' "$W/canon.in" |
		while IFS= read -r line; do
			p=${line%"$TAB"*}
			if [ -e "$p" ] || [ -L "$p" ]; then printf '%s\n' "$line"; fi
		done | sed "s/$TAB\$//"
}

# The .debs apt is about to download that the cache volume has, copied to apt's
# archives, each only when its sha256 is one the index just read gives for that
# package and version (a file apt finds there at the right size is not checked
# again): a damaged or foreign file in the volume is downloaded anew, never installed.
# Copies, not the volume itself as apt's archives: two containers' apts would lock
# each other out of it, and one's partial download would be the other's input.
debs_in() {
	apt-get install --print-uris -qq -y --no-install-recommends "$@" 2>/dev/null |
		awk '{ print $2 }' | while IFS= read -r f; do
		if [ -f "$DEBS/$f" ]; then printf '%s\n' "$f"; fi
	done >"$W/debs.cached"
	[ -s "$W/debs.cached" ] || return 0
	# name_version_arch.deb; the version's epoch colon is %3a in the name.
	# shellcheck disable=SC2046 # name=version, no spaces
	apt-cache show $(sed -e 's/_[^_]*$//' -e 's/_/=/' -e 's/%3a/:/g' "$W/debs.cached") 2>/dev/null | awk '
		/^Package: / { p = $2 } /^Version: / { v = $2 } /^SHA256: / { print p "\t" v "\t" $2 }' >"$W/debs.index"
	(cd "$DEBS" && xargs -r sha256sum <"$W/debs.cached") | awk -v idx="$W/debs.index" -v dest=/var/cache/apt/archives '
		BEGIN { while ((getline l < idx) > 0) { split(l, f, "\t"); ok[f[1] "\t" f[2] "\t" f[3]] = 1 } }
		{
			file = $2; sub(/^\*/, "", file); n = split(file, part, "_"); v = part[2]; gsub(/%3a/, ":", v)
			if ((part[1] "\t" v "\t" $1) in ok) print file
		}' >"$W/debs.good"
	while IFS= read -r f; do cp "$DEBS/$f" /var/cache/apt/archives/; done <"$W/debs.good"
	log "$(wc -l <"$W/debs.good") of the .debs to install from the builder's cache"
}

# What apt downloaded, into the cache volume: under a temp name first, so another
# container never copies a partial file.
debs_out() {
	for f in /var/cache/apt/archives/*.deb; do
		[ -f "$f" ] || continue
		b=${f##*/}
		[ -f "$DEBS/$b" ] && continue
		cp "$f" "$DEBS/.$b.$$.tmp" && mv -f "$DEBS/.$b.$$.tmp" "$DEBS/$b" || rm -f "$DEBS/.$b.$$.tmp"
	done
}

# Whether the index apt has now gives every version imgsdk.lock pins, and for each
# .deb of this architecture (or all) the pinned sha256 among that version's. With
# "report", each one it does not is an error line; with "quiet", nothing is said.
lock_in_index() {
	awk -F "$TAB" '{ print $1 "=" $2 }' "$IN/apt/lock.tsv" >"$W/lockspecs"
	# shellcheck disable=SC2046 # name=version, no spaces
	apt-cache show $(cat "$W/lockspecs") 2>/dev/null | awk '
		/^Package: / { p = $2 } /^Version: / { v = $2 } /^SHA256: / { s = $2 }
		/^$/ { if (p != "") print p "\t" v "\t" s; p = v = s = "" }
		END { if (p != "") print p "\t" v "\t" s }' >"$W/index"
	# A .deb's sha256 is its architecture's: a build for another platform (arm64 from an
	# amd64 lock) checks the version, and the sha256 of what is for all architectures.
	awk -F "$TAB" -v idx="$W/index" -v myarch="$(dpkg --print-architecture)" -v report="$1" '
		function err(m) { if (report == "report") printf "imgsdk: error: imgsdk.lock pins %s\n", m > "/dev/stderr"; bad = 1 }
		BEGIN { while ((getline l < idx) > 0) { split(l, f, "\t"); k = f[1] "\t" f[2]; have[k] = 1; sha[k] = sha[k] " " f[3] } }
		{
			k = $1 "\t" $2
			if (!(k in have)) err($1 " " $2 ", which the archive no longer has")
			else if (length($3) != 64 || $3 ~ /[^0-9a-f]/) err($1 " " $2 " without a valid sha256 (\"" $3 "\"): the .deb cannot be checked")
			else if (($4 == "" || $4 == "all" || $4 == myarch) && index(sha[k] " ", " " $3 " ") == 0) err($1 " " $2 " with sha256 " $3 ", the archive has" sha[k])
		}
		END { exit bad }' "$IN/apt/lock.tsv"
}

# Reads "package TAB arch" lines, prints "list file TAB package": the dpkg list file
# of each installed package (Multi-Arch: same ones carry :arch). Builtins only.
listfiles() {
	while IFS="$TAB" read -r pkg arch; do
		f="/var/lib/dpkg/info/$pkg:$arch.list"
		[ -f "$f" ] || f="/var/lib/dpkg/info/$pkg.list"
		[ -f "$f" ] || die "no dpkg file list for $pkg:$arch"
		printf '%s\t%s\n' "$f" "$pkg"
	done
}

[ -f "$IN/apt/packages.list" ] || die "$IN/apt/packages.list is missing (was the image dir put at $IN?)"
mkdir -p "$OUT" "$ROOT" "$W"
mark setup

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
# Package descriptions in other languages are never used here: apt-get update would
# fetch and index Translation files (6 MB for bookworm main) for nothing. An image's
# own apt.conf.d (read after this) may still ask for them.
mkdir -p /etc/apt/apt.conf.d
printf 'Acquire::Languages "none";\n' >/etc/apt/apt.conf.d/00imgsdk-languages
# The container is thrown away after the install and its output hashed: dpkg's
# fsync after every file buys nothing here (Debian's own container images do this).
mkdir -p /etc/dpkg/dpkg.cfg.d
printf 'force-unsafe-io\n' >/etc/dpkg/dpkg.cfg.d/imgsdk-unsafe-io
# Maintainer scripts must not start services in the builder.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
fi

# Accounts that maintainer scripts or hooks create own files of the image.
cp /etc/passwd "$W/passwd.before"
cp /etc/group "$W/group.before"

mark apt-update
# Locked, the lists the builder already has are enough when they give every locked
# version at its sha256: what is installed is then exactly the lock either way, and
# the update (a fetch of every InRelease, the package cache built anew) is skipped.
# Unlocked, the archive's candidates of now are what gets installed: always updated.
locked_checked=0
if [ -s "$IN/apt/lock.tsv" ] && lock_in_index quiet; then
	locked_checked=1
	log "the builder's package lists have the $(wc -l <"$IN/apt/lock.tsv") locked versions: no apt-get update"
else
	log "apt-get update"
	apt-get update -q || die "apt-get update failed (check apt/sources.list and that the builder reaches the mirror)"
fi

mark setup
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

mark files
log "snapshot before the install"
snapshot "$W/before"

# The check of the lock against the index counts as part of the download.
mark apt-download
# Locked (imgsdk.lock): every package of the closure at its exact version, the
# ancestors' too, checked against the archive's index first. apt then verifies each
# .deb against that index, so what is installed is what the lock names.
if [ -s "$IN/apt/lock.tsv" ]; then
	[ "$locked_checked" = 1 ] || log "checking $(wc -l <"$IN/apt/lock.tsv") locked versions against the archive"
	awk -F "$TAB" '{ print $1 "=" $2 }' "$IN/apt/lock.tsv" >"$W/install"
	[ "$locked_checked" = 1 ] || lock_in_index report ||
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

# Downloaded first, apart, so the download and the install are timed each (the
# second run finds every .deb in /var/cache/apt/archives), with the builder's .deb
# cache (a volume at $DEBS, when mounted) taken from before and filled after.
# shellcheck disable=SC2046,SC2086 # one package spec per line, no spaces
[ ! -d "$DEBS" ] || debs_in $opts $(cat "$W/install")
log "apt-get install --download-only $(tr '\n' ' ' <"$W/install")"
# shellcheck disable=SC2046,SC2086 # one package spec per line, no spaces
if ! apt-get install -y -q --download-only --no-install-recommends $opts $(cat "$W/install"); then
	[ "$locked_checked" = 1 ] || die "apt-get install failed"
	# The builder's lists named a .deb the archive has dropped since (a superseded
	# security update): updated now, the lock is checked against the archive of now.
	log "apt-get update (a locked .deb could not be downloaded with the builder's lists)"
	apt-get update -q || die "apt-get update failed (check apt/sources.list and that the builder reaches the mirror)"
	lock_in_index report ||
		die "the archive does not have the locked versions: run \`imgsdk update\` to lock what it has now, or pin the builder to a snapshot (debian.builder(id, { snapshot: 'YYYYMMDDTHHMMSSZ' })) that has them"
	# shellcheck disable=SC2046,SC2086 # one package spec per line, no spaces
	apt-get install -y -q --download-only --no-install-recommends $opts $(cat "$W/install") || die "apt-get install failed"
fi
[ ! -d "$DEBS" ] || debs_out
mark apt-install
log "apt-get install $(tr '\n' ' ' <"$W/install")"
# shellcheck disable=SC2046,SC2086 # one package spec per line, no spaces
apt-get install -y -q --no-install-recommends $opts $(cat "$W/install") || die "apt-get install failed"

mark files
log "snapshot after the install"
snapshot "$W/after"
# Every list here is one path a line: a name holding a newline cannot be carried, so
# it is refused by name (escaped) rather than left out of the image.
NL='
'
find / \( -path /proc -o -path /sys -o -path /dev -o -path /imgsdk -o -path /tmp -o -path /run \
	-o -path /var/lib/apt/lists -o -path /var/cache \) -prune -o \
	-name "*$NL*" -print0 >"$W/newline-names"
if [ -s "$W/newline-names" ]; then
	die "file names holding a newline cannot be put into an image: $(tr '\0\n' '\n\001' <"$W/newline-names" | sed 's/\x01/\\n/g' | head -n 5 | tr '\n' ' ')"
fi

log "computing the package closure"
dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Architecture}\t${Pre-Depends}, ${Depends}\t${Provides}\n' >"$W/db"
awk -F "$TAB" 'substr($1, 2, 1) == "i" { print $2 "\t" $4 "\t" $5 }' "$W/db" |
	pkg_closure "$W/roots" "$W/closure.all" 'requested package ' ' is not installed' "$OUT/depends.tsv" || die "cannot compute the package closure"
comm -23 "$W/closure.all" "$W/parent" >"$W/closure"
comm -12 "$W/closure.all" "$W/parent" >"$W/closure.inherited"
# Essential packages nothing declares a dependency on, whose files a program may still
# need: /bin/sh (dash) for scripts and popen/system, bash and env for `#!` lines, the
# tools a wrapper script or system() runs (coreutils' mktemp, chmod, rm), the C.UTF-8
# locale (libc-bin), base-passwd's standard accounts. Files only; the pipeline keeps
# what a kept program uses.
# With the libraries they link (coreutils' libattr1, bash's libtinfo6): only those, not
# what the Essential tools need to administer a system (login's PAM configuration).
dpkg-query -W -f '${Essential}\t${Package}\n' | awk -F "$TAB" '$1 == "yes" { print $2 }' | sort -u >"$W/essential"
awk -F "$TAB" 'substr($1, 2, 1) == "i" { print $2 "\t" $4 "\t" $5 }' "$W/db" |
	pkg_closure "$W/essential" "$W/essential.all" 'Essential package ' ' is not installed' || die "cannot compute the closure of the Essential packages"
dpkg-query -W -f '${Package}\t${Section}\n' $(cat "$W/essential.all") 2>/dev/null | awk -F "$TAB" '$2 ~ /(^|\/)libs$/ { print $1 }' >"$W/essential.libs"
# Those installed and in neither the closure nor the parent; sets, not a process per package.
awk -F "$TAB" 'substr($1, 2, 1) == "i" { print $2 }' "$W/db" | sort -u >"$W/installed"
sort -u "$W/closure.all" "$W/parent" >"$W/had"
sort -u "$W/essential" "$W/essential.libs" | comm -12 - "$W/installed" | comm -23 - "$W/had" >>"$W/closure.inherited"
log "closure: $(wc -l <"$W/closure.all") packages, $(wc -l <"$W/closure") not in the parent"

log "collecting files"
# One dpkg-query and one pass over the list files for the whole closure (per
# package, that would be hundreds of processes). The parent's packages and the
# essential candidates come as files only (the pipeline keeps what the parent lacks
# and this image uses); packages.json lists the closure's own.
sort -u "$W/closure" "$W/closure.inherited" >"$W/closure.files"
: >"$W/info"
if [ -s "$W/closure.files" ]; then
	# The first line of each (a Multi-Arch: same package installed twice), as before.
	# shellcheck disable=SC2046 # package names, no spaces
	dpkg-query -W -f '${Package}\t${Version}\t${Architecture}\t${source:Package}\n' $(cat "$W/closure.files") | awk -F "$TAB" '!seen[$1]++' >"$W/info"
fi
awk -F "$TAB" 'NR == FNR { own[$1] = 1; next } ($1 in own)' "$W/closure" "$W/info" >"$W/pkgs.tsv"
cut -f 1,3 "$W/info" | listfiles >"$W/lists"
awk -F "$TAB" '{ while ((getline l < $1) > 0) print l "\t" $2; close($1) }' "$W/lists" | canonical tagged | sort -u >"$W/files.all"
# Of the Essential candidates and the parent's packages, never the package manager's or
# init's bookkeeping (dpkg's /var/lib/dpkg, the rc?.d directories), as of the install below.
# The package is the last field; the path before it may hold TABs.
awk -F "$TAB" 'NR == FNR { inh[$1] = 1; next }
	!(($NF in inh) && $0 ~ /^\/(var\/lib\/dpkg|var\/lib\/apt|var\/cache|var\/log)(\/|\t)|^\/etc\/rc[0-6S]\.d(\/|\t)/)' "$W/closure.inherited" "$W/files.all" >"$OUT/files.tsv"

# Alternatives whose chosen target belongs to the closure: /etc/alternatives/<name>
# and the link itself, which only update-alternatives knows about.
# The path is everything before the last TAB (package names hold none; paths may).
sed "s/$TAB[^$TAB]*\$//" "$OUT/files.tsv" | sort -u >"$W/owned"
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
# Of /var/log, the directories a maintainer script made (exim4's /var/log/exim4, owned
# Debian-exim:adm 2750): a daemon that logs as its own account cannot make them
# itself. Never a log file: those are the builder's.
comm -13 "$W/before" "$W/after" | comm -23 - "$W/listed" | grep -E '^/var/log/' | while IFS= read -r p; do
	[ -d "$p" ] && [ ! -L "$p" ] && printf '%s\n' "$p"
done >>"$W/created" || true
log "$(wc -l <"$W/created") files created by maintainer scripts"

# Every entry plus its ancestors, so directories keep their modes and owners. The
# kernel's mount points (base-files owns /proc, /sys, /dev, /run) are the runtime's:
# reading them races with the kernel ("file changed as we read it").
cat "$W/owned" "$W/alternatives" "$W/created" | canonical | awk '
	{ p = $0; while (p != "" && !(p in seen)) { seen[p] = 1; print substr(p, 2); sub(/\/[^\/]*$/, "", p) } }' |
	grep -Ev '^(proc|sys|dev)(/|$)' | while IFS= read -r p; do
		# Of /run, the directories a maintainer script made (tinyproxy's /run/tinyproxy),
		# never a file there: those are the running system's.
		case "$p" in run | run/*) [ -d "/$p" ] && [ ! -L "/$p" ] || continue ;; esac
		printf '%s\n' "$p"
	done |
	sort -u >"$W/copy"

# The root is written out as rootfs.tar straight from the builder's files when
# nothing else goes into it (no hook given $ROOT, no locale to compile there): a copy
# into $ROOT first would write and read every file of the closure once more (12 s of
# PostgreSQL's 472 MB at load 20).
direct=1
for h in configure-builder configure-rootfs finish-rootfs; do [ ! -f "$IN/hooks/$h.sh" ] || direct=0; done
if [ -s "$IN/apt/locales.list" ] && grep -qvxE '|C|POSIX|C\.UTF-8|C\.utf8' "$IN/apt/locales.list"; then direct=0; fi

if [ "$direct" = 0 ]; then
	log "copying $(wc -l <"$W/copy") entries into $ROOT"
	# dash has no pipefail: the reading side reports its failure through a file.
	{
		tar -C / --numeric-owner --xattrs --xattrs-include='security.capability' --no-recursion \
			--verbatim-files-from --no-unquote -cf - -T "$W/copy" || echo "$?" >"$W/tar.failed"
	} | tar -C "$ROOT" --numeric-owner --xattrs --xattrs-include='security.capability' -xpf - ||
		die "extracting the package files into $ROOT failed"
	[ ! -e "$W/tar.failed" ] || die "reading the package files failed (tar exit $(cat "$W/tar.failed"))"
fi

# Locales the image declares (.locale()): compiled into the root's /usr/lib/locale/<name>,
# as portage.sh does. C.UTF-8 is libc-bin's, kept by the pipeline; others need the
# locale sources of the `locales` package, installed in the builder only.
if [ -s "$IN/apt/locales.list" ]; then
	while IFS= read -r l; do
		case $l in '' | C | POSIX | C.UTF-8 | C.utf8) continue ;; esac
		locale_parts "$l"
		if [ ! -f "/usr/share/i18n/locales/$loc_src" ]; then
			apt-get install -y -q --no-install-recommends locales >/dev/null || die "installing the locale sources (locales) for $l failed"
		fi
		log "locale $l -> /usr/lib/locale/$loc_dir"
		mkdir -p "$ROOT/usr/lib/locale"
		localedef -i "$loc_src" -f "$loc_cs" "$ROOT/usr/lib/locale/$loc_dir" || die "localedef $l failed (is $loc_src a locale of glibc?)"
	done <"$IN/apt/locales.list"
fi

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

mark rootfs-tar
if [ "$direct" = 1 ]; then
	log "writing $OUT/rootfs.tar ($(wc -l <"$W/copy") entries)"
	# Named ./path, as a tar of $ROOT names them.
	sed 's|^|./|' "$W/copy" | tar -C / --numeric-owner --xattrs --xattrs-include='security.capability' --no-recursion \
		--verbatim-files-from --no-unquote -cf "$OUT/rootfs.tar" -T - ||
		die "writing rootfs.tar failed"
else
	log "writing $OUT/rootfs.tar"
	tar -C "$ROOT" --numeric-owner --xattrs --xattrs-include='security.capability' -cf "$OUT/rootfs.tar" . ||
		die "writing rootfs.tar failed"
fi
mark end
log "done: $(wc -l <"$W/closure") packages, $(($(stat -c %s "$OUT/rootfs.tar") / 1024)) KiB of tar"
