# Shared by the three Gentoo entries, sourced after `set -eu`: portage.sh (phase 1),
# portage-lock.sh (imgsdk lock, outdated) and portage-configure.sh (imgsdk shell). Each
# configures the builder the same way (portage_begin, portage_configure,
# portage_provided) so that a lock resolves and a shell sees what a build would.
# The builder is a stage3 set up by imgsdk: sandboxes off, PKGDIR/DISTDIR on volumes,
# the Portage tree mounted read-only at /var/db/repos/gentoo.
#
# In:  \$1 (default /imgsdk/in), the image's directory: image.json, portage/ (make.conf,
#      package.*/imgsdk, profile/*, package.env, env/*, repos.conf/*.conf, patches/…,
#      imgsdk/provide.unresolved, imgsdk/unprovide), the plain lists synth writes in
#      portage/imgsdk/ (image, packages.list, no-binpkg-cache.list, uninstall.list,
#      runtime-libs.list, locales.list, downloads.tsv, overlays.tsv, accounts.tsv,
#      record.tsv, lock.list; each present only when not empty), hooks/*.sh and
#      parent-packages.list (one cat/pkg-version a line: what the ancestors installed; a
#      bare cat/pkg is pinned to the visible version; the versioned ones are the only
#      versions the build dependencies may take). The columns of every list and .tsv
#      are declared once, in src/contract/builder-files.ts; the reads below follow them.
#
# The portage/ files hold the ancestors' settings before the image's own (synth does
# that): the ancestors' packages emerged into this builder as build dependencies are
# configured as the ancestors built them, as in Kubler's committed parent builder.
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
# The mask pin_ancestors (portage.sh) writes for the build dependencies' emerge only.
ANCESTORS_MASK=$P/package.mask/imgsdk-ancestors

# Checks that this is a Gentoo builder and the image dir is complete; reads the id and packages.
portage_begin() {
	[ -f "$IN/image.json" ] || die "$IN/image.json is missing (was the image dir put at $IN?)"
	command -v emerge >/dev/null || die "emerge is not on PATH: this is not a Gentoo builder"
	mkdir -p "$OUT" "$R" "$W" "$P"
	[ -f "$(dirname "$0")/emerge-opts" ] || die "$(dirname "$0")/emerge-opts is missing (the scripts are put with scriptsTar())"
	EMERGE_OPTS=$(cat "$(dirname "$0")/emerge-opts")
	[ -f "$IN/portage/imgsdk/image" ] || die "$IN/portage/imgsdk/image is missing: the assembly was written by an older imgsdk; synthesize it again"
	IMAGE=$(plain image)
	plain packages.list >"$W/packages"
	log "image ${IMAGE:-?}: $(wc -l <"$W/packages") packages"
}

# /etc/portage from the assembly, downloads, binpkg invalidation, overlays, the declared
# accounts in the builder, then configureBuilder (Kubler's build-root.sh order).
portage_configure() {
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
	# Columns: PORTAGE_DOWNLOADS in src/contract/builder-files.ts.
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

	# Columns: PORTAGE_OVERLAYS in src/contract/builder-files.ts.
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

	# Columns: PORTAGE_ACCOUNTS in src/contract/builder-files.ts.
	plain accounts.tsv >"$W/accounts"
	add_accounts /

	hook configure-builder

	# An earlier run's pins (a second run in this container) never outlive that run's emerge.
	if [ -d "$P/package.mask" ]; then rm -f "$ANCESTORS_MASK"; fi
}

# package.provided: the ancestors' packages, minus unprovide, plus provide.
portage_provided() {
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
}
