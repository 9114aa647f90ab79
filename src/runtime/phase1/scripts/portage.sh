#!/bin/sh
# imgsdk phase 1 for Gentoo images, run inside a container of a Gentoo builder.
# The builder is configured by portage-setup.sh, as imgsdk lock (portage-lock.sh) and
# imgsdk shell (portage-configure.sh) configure it; what is read from the image dir is
# listed there.
#
# In:  /imgsdk/in   as portage-setup.sh says, and [portage/imgsdk/lock.list]
#                   (=cat/pkg-version::repo atoms of imgsdk.lock: installed instead of
#                   the requested packages)
# Out: /imgsdk/out  rootfs.tar     tar of /imgsdk/root, ./-relative, numeric owners
#                   packages.json  [{name, version, use, slot, repository, origin}] from ROOT's /var/db/pkg
#                   files.tsv      every file of the packages' CONTENTS with its package
#                   (the columns of files.tsv and of every list: src/contract/builder-files.ts)
#
# Order, as Kubler's build-root.sh: /etc/portage from the assembly, downloads, binpkg
# invalidation, overlays, accounts in the builder, configureBuilder, build dependencies
# emerged into the builder, package.provided (ancestors' packages, unprovide, provide),
# configureRootfs with ROOT exported, emerge into ROOT, uninstall, compiler runtime
# libraries, locales, accounts in the root, finishRootfs, the reports, the tar. The
# categorised purge (headers, static libs, docs, /var/db/pkg, ...) happens on the host
# with the image's keep list.
#
# POSIX sh; needs emerge, portageq, emaint, GNU tar, awk, sed, sort, sha256sum, head.
set -eu

case ${1:-} in
--*)
	printf 'imgsdk: error: portage.sh builds; %s is another entry (portage-lock.sh for imgsdk lock, portage-configure.sh for imgsdk shell)\n' "$1" >&2
	exit 2
	;;
esac
. "$(dirname "$0")/portage-setup.sh"

portage_begin
portage_configure

# --- imgsdk.lock: exactly the locked versions, checked before anything is emerged --
# lock.list holds =cat/pkg-version::repo atoms, the image's own packages as
# `imgsdk lock` resolved them. The root gets all of them; the builder gets the build
# dependencies of the requested packages at their locked versions (--onlydeps of
# the whole list would leave out dependencies that are in the list). A version the
# tree no longer has fails here, naming it.
cp "$W/packages" "$W/deps"
if [ -f "$IN/portage/imgsdk/lock.list" ]; then
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
if [ -s "$W/packages" ]; then
	pin_ancestors
	log "emerging the build dependencies into the builder"
	# shellcheck disable=SC2046,SC2086 # atoms and options are words
	emerge --oneshot --onlydeps --with-bdeps=y $EMERGE_OPTS $(cat "$W/deps") ||
		die "emerging the build dependencies failed"
	rm -f "$ANCESTORS_MASK"
fi

portage_provided

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
# Columns: PORTAGE_RECORD in, FILES out (src/contract/builder-files.ts).
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
