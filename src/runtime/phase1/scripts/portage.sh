#!/bin/sh
# imgsdk phase 1 for Gentoo images, run inside a container of a Gentoo builder
# (a stage3 set up by imgsdk: sandboxes off, PKGDIR/DISTDIR on volumes, the Portage
# tree mounted read-only at /var/db/repos/gentoo).
#
# In:  /imgsdk/in   image.json, portage/ (make.conf, package.*/imgsdk, profile/*,
#                   package.env, env/*, repos.conf/*.conf, patches/…, imgsdk/provide.unresolved,
#                   imgsdk/unprovide, and the plain lists synth writes from image.json in
#                   imgsdk/: image (the id), packages.list, no-binpkg-cache.list,
#                   uninstall.list, runtime-libs.list, locales.list (a value a line),
#                   downloads.tsv (url sha256 name), overlays.tsv (name type uri branch),
#                   accounts.tsv (user uid group gid home shell), record.tsv (group name),
#                   each present only when not empty), [hooks/configure-builder.sh, configure-rootfs.sh,
#                   finish-rootfs.sh], [parent-packages.list] (one cat/pkg-version a line:
#                   what the ancestors installed; a bare cat/pkg is pinned to the visible version;
#                   the versioned ones are the only versions the build dependencies may take),
#                   [portage/imgsdk/lock.list] (=cat/pkg-version::repo atoms of imgsdk.lock:
#                   installed instead of the requested packages)
# Out: /imgsdk/out  rootfs.tar     tar of /imgsdk/root, ./-relative, numeric owners
#                   packages.json  [{name, version, use, slot, repository, origin}] from ROOT's /var/db/pkg
#                   files.tsv      /path TAB cat/pkg, from the packages' CONTENTS
#                   pretend.txt    (--lock only, instead of the above) emerge --pretend's report
#
# The portage/ files hold the ancestors' settings before the image's own (synth does
# that): the ancestors' packages emerged into this builder as build dependencies are
# configured as the ancestors built them, as in Kubler's committed parent builder.
#
# Order, as Kubler's build-root.sh: /etc/portage from the assembly, downloads, binpkg
# invalidation, overlays, accounts in the builder, configureBuilder, build dependencies
# emerged into the builder, package.provided (ancestors' packages, unprovide, provide),
# configureRootfs with ROOT exported, emerge into ROOT, uninstall, compiler runtime
# libraries, locales, accounts in the root, finishRootfs, the reports, the tar. The
# categorised purge (headers, static libs, docs, /var/db/pkg, ...) happens on the host
# with the image's keep list.
#
# A second run in the same container (imgsdk shell, a retried build) gives the same
# /etc/portage: files are written whole, never appended to.
#
# The options every emerge gets (--usepkg --binpkg-respect-use=y) come from
# emerge-opts beside this script, written from gentoo.ts (BUILDER_EMERGE_OPTS, the
# builder's EMERGE_DEFAULT_OPTS too); on the command line as well, so a makeConf that
# sets EMERGE_DEFAULT_OPTS outright does not drop them.
#
# POSIX sh; needs emerge, portageq, emaint, GNU tar, awk, sed, sort, sha256sum, head.
set -eu

# --configure-only (imgsdk shell): configure the builder as a build would, then stop
# before the first emerge.
# --lock (imgsdk lock, outdated): configure the builder as a build would, then ask
# emerge what it would merge into the root (--pretend, nothing is built) and write
# its output to $OUT/pretend.txt; portage/imgsdk/lock.list is not read.
MODE=build
case ${1:-} in
--configure-only)
	MODE=configure
	shift
	;;
--lock)
	MODE=lock
	shift
	;;
esac
IN=${1:-/imgsdk/in}
OUT=/imgsdk/out
R=/imgsdk/root
W=/imgsdk/work
P=/etc/portage
DISTFILES=/var/cache/distfiles
TAB=$(printf '\t')
LC_ALL=C
export LC_ALL IMGSDK_DOWNLOADS="$DISTFILES"
unset ROOT || true

. "$(dirname "$0")/lib.sh"

# A plain list synth wrote under portage/imgsdk/ (nothing when it is not there).
plain() {
	if [ -f "$IN/portage/imgsdk/$1" ]; then cat "$IN/portage/imgsdk/$1"; fi
}

# cat/pkg of an atom or of a cat/pkg-version: =sys-libs/zlib-1.3:0/1[static] -> sys-libs/zlib
cpn() {
	sed -e 's/^[<>=~!]*//' -e 's/\[.*$//' -e 's/:.*$//' -e 's/\*$//' \
		-e 's/-[0-9][0-9.]*[a-z]\{0,1\}\(_\(alpha\|beta\|pre\|rc\|p\)[0-9]*\)*\(-r[0-9][0-9]*\)\{0,1\}$//'
}

# Is the line a cat/pkg-version (as opposed to a bare cat/pkg)?
has_version() {
	printf '%s\n' "$1" | grep -q -- '/.*-[0-9][0-9.]*[a-z]\{0,1\}\(_\(alpha\|beta\|pre\|rc\|p\)[0-9]*\)*\(-r[0-9][0-9]*\)\{0,1\}$'
}

# /etc/portage/<name> as a directory; a file of that name moves into it.
portage_dir() {
	if [ -f "$P/$1" ]; then
		mv "$P/$1" "$P/$1.imgsdk-file"
		mkdir -p "$P/$1"
		mv "$P/$1.imgsdk-file" "$P/$1/00-builder"
	fi
	mkdir -p "$P/$1"
}

# Writes FILE whole: what was there minus the block an earlier run put in, then
# the content of BLOCK (when it exists and is not empty) between the markers. A
# second run in the same container (imgsdk shell, a retried build) so replaces its
# entries instead of adding them again, and what the builder itself put in FILE stays.
put_block() {
	[ -f "$1" ] || [ -s "$2" ] || return 0
	mkdir -p "$(dirname "$1")"
	{
		# awk, not sed: a last line without its newline gets one before the block.
		if [ -f "$1" ]; then awk '/^# BEGIN imgsdk$/ { skip = 1 } !skip { print } /^# END imgsdk$/ { skip = 0 }' "$1"; fi
		if [ -s "$2" ]; then
			echo '# BEGIN imgsdk'
			cat "$2"
			echo '# END imgsdk'
		fi
	} >"$1.imgsdk-new"
	mv "$1.imgsdk-new" "$1"
}

# The lib directory of this builder (lib64 on multilib and nomultilib amd64, lib on musl).
libdir() {
	if [ -d /usr/lib64 ] && [ ! -L /usr/lib64 ]; then echo lib64; else echo lib; fi
}

[ -f "$IN/image.json" ] || die "$IN/image.json is missing (was the image dir put at $IN?)"
command -v emerge >/dev/null || die "emerge is not on PATH: this is not a Gentoo builder"
mkdir -p "$OUT" "$R" "$W" "$P"
[ -f "$(dirname "$0")/emerge-opts" ] || die "$(dirname "$0")/emerge-opts is missing (the scripts are put with scriptsTar())"
EMERGE_OPTS=$(cat "$(dirname "$0")/emerge-opts")
[ -f "$IN/portage/imgsdk/image" ] || die "$IN/portage/imgsdk/image is missing: the assembly was written by an older imgsdk; synthesize it again"
IMAGE=$(plain image)
plain packages.list >"$W/packages"
log "image ${IMAGE:-?}: $(wc -l <"$W/packages") packages"

# --- /etc/portage from the assembly, written whole on every run ----------------------
log "writing $P"
{
	printf '# imgsdk: %s\n' "$IMAGE"
	# Portage's sandboxes need privileges a build container does not have (as Kubler).
	printf 'FEATURES="${FEATURES} -sandbox -usersandbox -ipc-sandbox -network-sandbox -pid-sandbox"\n'
	if [ -f "$IN/portage/make.conf" ]; then grep -v '^# generated by imgsdk' "$IN/portage/make.conf" || true; fi
} >"$W/make.conf"
if [ -d "$P/make.conf" ]; then cp "$W/make.conf" "$P/make.conf/zz-imgsdk"; else put_block "$P/make.conf" "$W/make.conf"; fi
for d in package.use package.accept_keywords package.mask package.unmask; do
	if [ -f "$IN/portage/$d/imgsdk" ]; then
		portage_dir "$d"
		cp "$IN/portage/$d/imgsdk" "$P/$d/imgsdk"
	elif [ -d "$P/$d" ]; then
		rm -f "$P/$d/imgsdk"
	fi
done
put_block "$P/profile/package.use.mask" "$IN/portage/profile/package.use.mask"
if [ -d "$P/package.env" ]; then
	rm -f "$P/package.env/imgsdk"
	if [ -f "$IN/portage/package.env" ]; then cp "$IN/portage/package.env" "$P/package.env/imgsdk"; fi
else
	put_block "$P/package.env" "$IN/portage/package.env"
fi
rm -f "$P/env/imgsdk-"*
if [ -d "$IN/portage/env" ]; then
	mkdir -p "$P/env"
	cp "$IN/portage/env/"* "$P/env/"
fi
if [ -d "$IN/portage/patches" ]; then
	mkdir -p "$P/patches"
	cp -R "$IN/portage/patches/." "$P/patches/"
fi

# --- downloads (Kubler's download_file), cached in the distfiles volume -------------
plain downloads.tsv >"$W/downloads"
while IFS="$TAB" read -r url sum name; do
	[ -n "$url" ] || continue
	mkdir -p "$DISTFILES"
	dest="$DISTFILES/$name"
	if [ -f "$dest" ] && [ "$(sha256sum "$dest" | cut -d ' ' -f 1)" = "$sum" ]; then
		log "download $name: cached"
		continue
	fi
	log "download $url"
	if command -v wget >/dev/null; then
		wget -q -O "$dest.part" "$url" || die "download $url failed"
	elif command -v curl >/dev/null; then
		curl -fsSL -o "$dest.part" "$url" || die "download $url failed"
	else
		die "download $url: neither wget nor curl in the builder"
	fi
	got=$(sha256sum "$dest.part" | cut -d ' ' -f 1)
	if [ "$got" != "$sum" ]; then
		rm -f "$dest.part"
		die "download $url: sha256 $got, expected $sum"
	fi
	mv "$dest.part" "$dest"
done <"$W/downloads"

# --- binary packages never reused (Kubler's _no_cache) --------------------------------
plain no-binpkg-cache.list | cpn | sort -u >"$W/nocache"
if [ -s "$W/nocache" ]; then
	PKGDIR=$(portageq envvar PKGDIR)
	while IFS= read -r c; do
		log "dropping binary packages of $c from $PKGDIR"
		rm -rf "${PKGDIR:?}/$c"
		rm -f "$PKGDIR/${c%/*}/${c#*/}"-[0-9]*.tbz2 "$PKGDIR/${c%/*}/${c#*/}"-[0-9]*.gpkg.tar
	done <"$W/nocache"
	emaint --fix binhost || die "emaint --fix binhost failed"
fi

# --- overlays ---------------------------------------------------------------------
# Until an overlay's first sync, every Portage command run with its repos.conf entry
# says that the location does not exist or has no repo_name (a line naming the
# overlay, or emerge's "missing repo_name entries" paragraph listing its path).
# Those, about that overlay only, are kept out of the log of the commands that add
# and sync it; anything else they print on stderr is passed on.
unsynced() {
	repo=$1
	shift
	"$@" </dev/null 2>"$W/stderr" && rc=0 || rc=$?
	awk -v n="'$repo'" -v loc="/var/db/repos/$repo" '
		function flush() { if (keep) printf "%s", para; else blank = 1; para = ""; inpara = 0 }
		blank && /^[ \t]*$/ { next }
		{ blank = 0 }
		inpara {
			para = para $0 "\n"
			if ($0 ~ /^[ \t]+\//) { p = $0; sub(/^[ \t]+/, "", p); if (index(p, loc "/") != 1) keep = 1 }
			if ($0 ~ /first line\.[ \t]*$/) flush()
			next
		}
		/One or more repositories have missing repo_name entries/ { inpara = 1; keep = 0; para = $0 "\n"; next }
		!((index($0, n) || index($0, loc)) && $0 ~ /nonexistent directory|repo_name|repository name/) { print }
		END { if (inpara) { keep = 1; flush() } }' "$W/stderr" >&2
	return "$rc"
}

# Is overlay $1 configured already (a second run in this container, or the builder's own)?
configured() {
	[ -e "$P/repos.conf" ] || return 1
	find "$P/repos.conf" -type f -exec cat {} + 2>/dev/null | grep -q "^[[:space:]]*\[$1\][[:space:]]*$"
}

plain overlays.tsv >"$W/overlays"
use_eselect=no
# "list" would fetch the overlay index; "help" only loads the module.
if command -v eselect >/dev/null && eselect repository help >/dev/null 2>&1; then use_eselect=yes; fi
while IFS="$TAB" read -r name type uri branch; do
	[ -n "$name" ] || continue
	# eselect-repository has no branch option: a branch needs the repos.conf entry.
	if [ "$use_eselect" = yes ] && [ -z "$branch" ]; then
		if configured "$name"; then
			log "overlay $name: in repos.conf already"
		else
			log "overlay $name: eselect repository add $name $type $uri"
			unsynced "$name" eselect repository add "$name" "$type" "$uri" || die "eselect repository add $name failed"
		fi
	else
		log "overlay $name: repos.conf/$name.conf"
		portage_dir repos.conf
		cp "$IN/portage/repos.conf/$name.conf" "$P/repos.conf/$name.conf"
	fi
	unsynced "$name" emaint sync --repo "$name" || die "syncing overlay $name ($uri) failed"
done <"$W/overlays"

# --- accounts, in the builder before any hook or emerge ----------------------------
# The declared accounts exist in the builder before its hooks and the emerges run, so
# both can chown by name (an ebuild's fowners resolves names in the builder, not in
# ROOT: what Kubler patched the user eclasses for). The image's /etc/passwd and
# /etc/group are written on the host from the declared accounts of the image and
# its ancestors.
add_accounts() {
	while IFS="$TAB" read -r user uid group gid home shell; do
		[ -n "$user" ] || continue
		mkdir -p "${1}etc"
		grep -q "^$group:" "${1}etc/group" 2>/dev/null || printf '%s:x:%s:\n' "$group" "$gid" >>"${1}etc/group"
		grep -q "^$user:" "${1}etc/passwd" 2>/dev/null || printf '%s:x:%s:%s::%s:%s\n' "$user" "$uid" "$gid" "$home" "$shell" >>"${1}etc/passwd"
	done <"$W/accounts"
}
plain accounts.tsv >"$W/accounts"
add_accounts /

hook configure-builder

# --- imgsdk.lock: exactly the locked versions, checked before anything is emerged --
# lock.list holds =cat/pkg-version::repo atoms, the image's own packages as
# `imgsdk lock` resolved them. The root gets all of them; the builder gets the build
# dependencies of the requested packages at their locked versions (--onlydeps of
# the whole list would leave out dependencies that are in the list). A version the
# tree no longer has fails here, naming it.
cp "$W/packages" "$W/deps"
if [ "$MODE" = build ] && [ -f "$IN/portage/imgsdk/lock.list" ]; then
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$IN/portage/imgsdk/lock.list" >"$W/locked"
	: >"$W/gone"
	while IFS= read -r a; do
		v=$(portageq best_visible / "$a" 2>/dev/null || true)
		[ -n "$v" ] || printf '%s\n' "${a#=}" >>"$W/gone"
	done <"$W/locked"
	if [ -s "$W/gone" ]; then
		die "image ${IMAGE:-?}: imgsdk.lock locks versions the Portage tree does not have (any more): $(tr '\n' ' ' <"$W/gone")- run \`imgsdk update ${IMAGE:-}\` to lock what the tree has now, or pin the builder's portage to the snapshot the lock was made from (its date is under builders in imgsdk.lock)"
	fi
	log "installing the $(wc -l <"$W/locked") versions of imgsdk.lock"
	cpn <"$W/packages" | sort -u >"$W/requested"
	while IFS= read -r a; do printf '%s\t%s\n' "$(printf '%s\n' "$a" | sed 's/::.*$//' | cpn)" "$a"; done <"$W/locked" |
		awk -F "$TAB" -v req="$W/requested" 'BEGIN { while ((getline l < req) > 0) r[l] = 1 } $1 in r { print $2 }' >"$W/deps"
	cp "$W/locked" "$W/packages"
fi

# --- the ancestors' versions, pinned for the build dependencies ---------------------
# The build dependencies emerged into the builder include the ancestors' packages
# the image's packages depend on: the image compiles against them. They must be
# the versions the ancestors were built with (parent-packages.list), not the best
# visible ones (the tree may hold newer ones; imgsdk.lock may have pinned an
# ancestor), so every other version of them is masked for that one emerge. Not
# longer: a configureBuilder that updates @world, or the root install of an
# `.unprovide()`d package, choose versions as the image's own settings say.
# Packages the image `.unprovide()`s are its own again and are not pinned.
ANCESTORS_MASK=$P/package.mask/imgsdk-ancestors
pin_ancestors() {
	[ -f "$IN/parent-packages.list" ] || return 0
	plain unprovide | cpn | sort -u >"$W/unpinned"
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/\//!d' "$IN/parent-packages.list" | while IFS= read -r p; do
		if has_version "$p"; then printf '%s\t%s\n' "$(printf '%s\n' "$p" | cpn)" "$p"; fi
	done | awk -F "$TAB" -v drop="$W/unpinned" 'BEGIN { while ((getline l < drop) > 0) d[l] = 1 } !($1 in d)' |
		sort -t "$TAB" -k 1,1 -k 2,2V |
		# A package the ancestors have in several slots keeps the versions between them.
		awk -F "$TAB" '$1 != c { if (c != "") print ">" last; print "<" $2; c = $1 } { last = $2 } END { if (c != "") print ">" last }' >"$W/pins"
	[ -s "$W/pins" ] || return 0
	portage_dir package.mask
	{
		echo "# imgsdk: the ancestors' packages at the versions they were built with"
		cat "$W/pins"
	} >"$ANCESTORS_MASK"
	log "pinned $(($(wc -l <"$W/pins") / 2)) packages of the ancestors to their versions"
}

# --- build dependencies, in the builder -------------------------------------------
# No --buildpkg on these command lines: the builder's make.conf has FEATURES=buildpkg,
# and the option would override a package's own FEATURES="-buildpkg" (package.env).
if [ -d "$P/package.mask" ]; then rm -f "$ANCESTORS_MASK"; fi
if [ -s "$W/packages" ] && [ "$MODE" = build ]; then
	pin_ancestors
	log "emerging the build dependencies into the builder"
	# shellcheck disable=SC2046,SC2086 # atoms and options are words
	emerge --oneshot --onlydeps --with-bdeps=y $EMERGE_OPTS $(cat "$W/deps") ||
		die "emerging the build dependencies failed"
	rm -f "$ANCESTORS_MASK"
fi

# --- package.provided: the ancestors' packages, minus unprovide, plus provide --------
mkdir -p "$P/profile"
: >"$W/provided"
if [ -f "$IN/parent-packages.list" ]; then
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/\//!d' "$IN/parent-packages.list" | while IFS= read -r p; do
		if has_version "$p"; then
			printf '%s\n' "$p"
		else
			v=$(portageq best_visible / "$p" 2>/dev/null || true)
			if [ -n "$v" ]; then printf '%s\n' "$v"; else log "warning: inherited $p has no visible version; not provided"; fi
		fi
	done >>"$W/provided"
fi
if [ -f "$IN/portage/imgsdk/unprovide" ]; then
	cpn <"$IN/portage/imgsdk/unprovide" | sort -u >"$W/unprovide"
	while IFS= read -r p; do printf '%s\t%s\n' "$(printf '%s\n' "$p" | cpn)" "$p"; done <"$W/provided" |
		awk -F "$TAB" -v drop="$W/unprovide" 'BEGIN { while ((getline l < drop) > 0) d[l] = 1 } !($1 in d) { print $2 }' >"$W/provided.kept"
	mv "$W/provided.kept" "$W/provided"
fi
if [ -f "$IN/portage/profile/package.provided" ]; then grep -v '^#' "$IN/portage/profile/package.provided" >>"$W/provided" || true; fi
if [ -f "$IN/portage/imgsdk/provide.unresolved" ]; then
	while IFS= read -r a; do
		[ -n "$a" ] || continue
		v=$(portageq best_visible / "$a" 2>/dev/null || true)
		[ -n "$v" ] || die "provide $a: no visible version to put in package.provided"
		printf '%s\n' "$v" >>"$W/provided"
	done <"$IN/portage/imgsdk/provide.unresolved"
fi
sort -u "$W/provided" >"$W/provided.sorted"
put_block "$P/profile/package.provided" "$W/provided.sorted"
if [ -s "$W/provided.sorted" ]; then log "package.provided: $(wc -l <"$W/provided.sorted") packages"; fi

if [ "$MODE" = lock ]; then
	ROOT=$R
	export ROOT
	log "resolving $(tr '\n' ' ' <"$W/packages")for $R (emerge --pretend)"
	# shellcheck disable=SC2046,SC2086
	emerge --pretend --verbose --color=n --nospinner --root="$R" --root-deps=rdeps --oneshot $EMERGE_OPTS $(cat "$W/packages") >"$OUT/pretend.txt" ||
		{ cat "$OUT/pretend.txt"; die "emerge --pretend failed: Portage cannot resolve the packages of ${IMAGE:-the image}"; }
	cat "$OUT/pretend.txt"
	exit 0
fi
if [ "$MODE" = configure ]; then
	pk=$(tr '\n' ' ' <"$W/packages")
	log "builder configured for ${IMAGE:-the image}; a build would now run:"
	log "  emerge --oneshot --onlydeps --with-bdeps=y $EMERGE_OPTS $pk"
	log "  ROOT=$R emerge --root=$R --root-deps=rdeps --oneshot $EMERGE_OPTS $pk"
	exit 0
fi

# --- the root ---------------------------------------------------------------------
ROOT=$R
export ROOT
hook configure-rootfs
if [ -s "$W/packages" ]; then
	log "emerging $(tr '\n' ' ' <"$W/packages")into $R"
	# shellcheck disable=SC2046,SC2086
	emerge --root="$R" --root-deps=rdeps --oneshot $EMERGE_OPTS $(cat "$W/packages") ||
		die "emerge into $R failed"
fi
plain uninstall.list >"$W/uninstall"
if [ -s "$W/uninstall" ]; then
	log "uninstalling $(tr '\n' ' ' <"$W/uninstall")"
	# shellcheck disable=SC2046
	emerge --root="$R" --unmerge $(cat "$W/uninstall") || die "uninstalling from $R failed"
fi

# Kubler's copy_gcc_libs / copy_gfortran_libs: the compiler's runtime libraries, as
# the loader finds them: lib<name>.so.<version> files that are ELF shared objects,
# symlinks among them only when they lead to one. lib<name>.so itself is for the
# link editor (a linker script, or a link into a -dev location) and never copied.
is_elf() { [ "$(head -c 4 "$1" 2>/dev/null)" = "$(printf '\177ELF')" ]; }
for kind in $(plain runtime-libs.list); do
	case $kind in
	gcc) libs='libgcc_s libgomp libstdc++' ;;
	gfortran) libs='libgfortran libquadmath' ;;
	*) die "unknown runtimeLibs kind $kind" ;;
	esac
	# The first entry only: on multilib the next ones hold 32-bit libraries of the same names.
	dirs=$(gcc-config -L 2>/dev/null | cut -d : -f 1 || true)
	[ -n "$dirs" ] || dirs=$(find /usr/lib/gcc /usr/lib64/gcc -mindepth 2 -maxdepth 2 -type d 2>/dev/null | sort -V | tail -n 1)
	lib=$(libdir)
	mkdir -p "$R/usr/$lib"
	n=0 found='' missing='' skipped=''
	for l in $libs; do
		got=no
		for d in $dirs; do
			for f in "$d/$l".so.[0-9]*; do
				case $f in *.py | *"*"*) continue ;; esac
				if [ ! -e "$f" ]; then
					[ -L "$f" ] && skipped="$skipped ${f##*/} (a link to $(readlink "$f"), which does not exist)"
					continue
				fi
				if ! is_elf "$f"; then
					skipped="$skipped ${f##*/} (not an ELF file)"
					continue
				fi
				# A link to another of these names beside it stays a link (that one is
				# copied too); any other becomes a copy of what it leads to.
				t=''
				[ ! -L "$f" ] || t=$(readlink "$f")
				case $t in
				*/*) cp -L "$f" "$R/usr/$lib/" ;;
				"$l".so.[0-9]*) cp -P "$f" "$R/usr/$lib/" ;;
				*) cp -L "$f" "$R/usr/$lib/" ;;
				esac
				n=$((n + 1))
				got=yes
			done
			[ "$got" = no ] || break
		done
		if [ "$got" = yes ]; then found="$found $l"; else missing="$missing $l"; fi
	done
	[ -n "$found" ] || die "runtimeLibs $kind: no shared object of${missing} in ${dirs:-the gcc directories (gcc-config -L named none)}${skipped:+; skipped:$skipped}"
	[ -z "$missing" ] || log "runtimeLibs $kind: no shared object of${missing} in $dirs"
	log "runtimeLibs $kind: $n files of${found} into /usr/$lib"
done

# Locales: compiled into the root's /usr/lib/locale/<name> (glibc only).
plain locales.list >"$W/locales"
if [ -s "$W/locales" ]; then
	if ls /lib/ld-musl-* >/dev/null 2>&1 || ls /usr/lib/ld-musl-* >/dev/null 2>&1; then
		log "locales: musl has no compiled locales; nothing to generate"
	else
		mkdir -p "$R/usr/lib/locale"
		while IFS= read -r l; do
			case $l in C | POSIX) continue ;; esac
			locale_parts "$l"
			log "locale $l -> /usr/lib/locale/$loc_dir"
			localedef -i "$loc_src" -f "$loc_cs" "$R/usr/lib/locale/$loc_dir" || die "localedef $l failed"
		done <"$W/locales"
	fi
fi

# The root's files know the accounts too, when the install gave it a passwd.
if [ -f "$R/etc/passwd" ]; then add_accounts "$R/"; fi

hook finish-rootfs

# --- reports: packages.json and files.tsv from the root's package database ---------
log "writing $OUT/packages.json and files.tsv"
: >"$W/pkgs.tsv"
: >"$W/files.raw"
for d in "$R"/var/db/pkg/*/*; do
	[ -d "$d" ] || continue
	cat=$(cat "$d/CATEGORY" 2>/dev/null || basename "$(dirname "$d")")
	pf=$(cat "$d/PF" 2>/dev/null || basename "$d")
	pn=$(printf '%s\n' "$cat/$pf" | cpn)
	pn=${pn#*/}
	ver=${pf#"$pn"-}
	slot=$(cat "$d/SLOT" 2>/dev/null || echo 0)
	repo=$(cat "$d/repository" 2>/dev/null || echo '')
	# USE as Kubler lists it: the package's own flags (IUSE), - for disabled ones.
	on=" $(cat "$d/USE" 2>/dev/null | tr '\n' ' ') "
	use=$(cat "$d/IUSE" 2>/dev/null | tr -s ' ' '\n' | sed -e 's/^[+-]//' -e '/^$/d' | sort -u |
		awk -v on="$on" '{ print (index(on, " " $0 " ") ? $0 : "-" $0) }' | tr '\n' ' ')
	printf '%s\t%s\t%s\t%s\t%s\n' "$cat/$pn" "$ver" "$slot" "$repo" "$use" >>"$W/pkgs.tsv"
	if [ -f "$d/CONTENTS" ]; then
		awk -v pkg="$cat/$pn" '
			$1 == "obj" { l = substr($0, 5); sub(/ [^ ]+ [^ ]+$/, "", l); print l "\t" pkg }
			$1 == "sym" { l = substr($0, 5); i = index(l, " -> "); if (i) print substr(l, 1, i - 1) "\t" pkg }' "$d/CONTENTS" >>"$W/files.raw"
	fi
done
plain record.tsv >"$W/recorded"
sort -u "$W/files.raw" >"$OUT/files.tsv"
{
	sort -t "$TAB" -k 1,1 "$W/pkgs.tsv" | sed 's/^/p\t/'
	sed 's/^/r\t/' "$W/recorded"
} | awk -F "$TAB" '
	function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
	function arr(s,   n, a, i, out) { n = split(s, a, " "); out = ""; for (i = 1; i <= n; i++) out = out (i > 1 ? "," : "") q(a[i]); return "[" out "]" }
	BEGIN { printf "[" }
	$1 == "p" {
		printf "%s\n  {\"name\":%s,\"version\":%s,\"use\":%s,\"slot\":%s,\"repository\":%s,\"origin\":\"gentoo\"}", (n++ ? "," : ""), q($2), q($3), arr($6), q($4), q($5)
	}
	$1 == "r" && $3 != "" {
		# log_as_installed GROUP NAME-VERSION: split at the last -<digit>
		name = $3; ver = ""
		if (match(name, /-[0-9][^-]*$/)) { ver = substr(name, RSTART + 1); name = substr(name, 1, RSTART - 1) }
		printf "%s\n  {\"name\":%s,\"version\":%s,\"source\":%s,\"origin\":\"recorded\"}", (n++ ? "," : ""), q(name), q(ver), q($2)
	}
	END { print (n ? "\n]" : "]") }' >"$OUT/packages.json"

# --- what never belongs in an image, then the tar ---------------------------------
rm -rf "$R/var/tmp/portage" "$R/var/cache/edb" "$R/var/log/emerge.log" "$R/var/log/emerge-fetch.log" "$R/var/log/portage"
log "writing $OUT/rootfs.tar"
tar -C "$R" --numeric-owner --xattrs --xattrs-include='security.capability' -cf "$OUT/rootfs.tar" . ||
	die "writing rootfs.tar failed"
log "done: $(wc -l <"$W/pkgs.tsv") packages, $(du -sk "$R" | cut -f 1) KiB"
