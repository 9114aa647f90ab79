#!/bin/sh
# imgsdk lock for Debian builders, run inside a container of the builder: resolves
# what phase 1 would install, at exact versions, without installing anything.
#
# In:  /imgsdk/in   apt/sources.list, apt/apt.conf.d/*,
#                   jobs/<n>.list   one request per line: the packages an image and its ancestors ask for
# Out: /imgsdk/out  <n>.tsv         one row per package of the closure (computed as debian.sh
#                                   computes it): LOCK_CLOSURE
#                   releases.tsv    the Date of each Release file by codename (else suite): RELEASES
#                   (the columns of both, and of the job lists: src/contract/builder-files.ts)
#
# Every package of the closure is asked for by name until the closure settles, so
# a package the builder already has resolves to the archive's candidate too, not to
# the version the builder happened to be bootstrapped with.
#
# POSIX sh (Debian's sh is dash). Needs apt, dpkg, coreutils, sed, mawk/gawk.
set -eu

IN=/imgsdk/in
OUT=/imgsdk/out
W=/imgsdk/work
TAB=$(printf '\t')
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

. "$(dirname "$0")/lib.sh"

mkdir -p "$OUT" "$W"
find /etc/apt/sources.list.d -mindepth 1 -maxdepth 1 \( -name '*.list' -o -name '*.sources' \) -delete 2>/dev/null || true
cp "$IN/apt/sources.list" /etc/apt/sources.list
mkdir -p /etc/apt/apt.conf.d
# Descriptions in other languages are never read here (as in debian.sh).
printf 'Acquire::Languages "none";\n' >/etc/apt/apt.conf.d/00imgsdk-languages
cp -R "$IN/apt/apt.conf.d/." /etc/apt/apt.conf.d/

log "apt-get update"
apt-get update -q || die "apt-get update failed (check the builder's sources and that it reaches the mirror)"

# The Date of every Release file apt read, by codename: the lock's only times.
for f in /var/lib/apt/lists/*Release; do
	[ -f "$f" ] || continue
	awk -v f="${f##*/}" '
		/^Codename: / { c = $2 } /^Suite: / { s = $2 } /^Date: / { d = substr($0, 7) }
		/^(MD5Sum|SHA1|SHA256|SHA512):/ { exit }
		END { k = (c != "") ? c : (s != "") ? s : f; sub(/_(In)?Release$/, "", k); print k "\t" d }' "$f"
done | sort -u >"$OUT/releases.tsv"

# The closure of $W/roots over $W/meta (name, version, arch, sha256, depends, provides),
# with debian.sh's rules: alternatives take the first one present, else the first provided.
closure() {
	awk -F "$TAB" '{ print $1 "\t" $5 "\t" $6 }' "$W/meta" |
		pkg_closure "$W/roots" "$W/closure.sorted" '' ' is neither a package nor provided by one apt would install' || return 1
	cat "$W/closure.sorted"
}

for job in "$IN"/jobs/*.list; do
	[ -f "$job" ] || continue
	n=$(basename "$job" .list)
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$job" >"$W/want"
	[ -s "$W/want" ] || die "job $n names no packages"
	sed -e 's/[=/].*//' -e 's/:.*//' "$W/want" | sort -u >"$W/roots"
	log "resolving $(tr '\n' ' ' <"$W/want")"
	round=0
	while :; do
		round=$((round + 1))
		[ "$round" -le 10 ] || die "the closure of $(tr '\n' ' ' <"$W/roots") did not settle"
		# shellcheck disable=SC2046 # one package spec per line, no spaces
		if ! apt-get install -s -q --no-install-recommends $(cat "$W/want") >"$W/sim" 2>&1; then
			cat "$W/sim" >&2
			die "apt cannot install $(tr '\n' ' ' <"$W/roots")from the builder's sources"
		fi
		# What is installed, replaced by what apt would install (Inst name [old] (new origin [arch])).
		sed -n "s/^Inst \([^ ]*\) \(\[[^]]*\] \)\{0,1\}(\([^ ]*\) .*/\1$TAB\3/p" "$W/sim" >"$W/inst"
		dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\n' |
			awk -F "$TAB" 'substr($1, 2, 1) == "i" { print $2 "\t" $3 }' >"$W/installed"
		awk -F "$TAB" 'NR == FNR { v[$1] = $2; next } !($1 in v) { v[$1] = $2 } END { for (p in v) print p "\t" v[p] }' \
			"$W/inst" "$W/installed" | sort >"$W/state"
		# The index stanza of exactly that version of each.
		# shellcheck disable=SC2046 # name=version, no spaces
		apt-cache show $(awk -F "$TAB" '{ print $1 "=" $2 }' "$W/state") 2>/dev/null | awk '
			function flush() { if (p != "" && !(p in done)) { done[p] = 1; print p "\t" v "\t" a "\t" s "\t" pd ", " d "\t" pr } p = v = a = s = pd = d = pr = "" }
			/^Package: / { p = $2 } /^Version: / { v = $2 } /^Architecture: / { a = $2 } /^SHA256: / { s = $2 }
			/^Pre-Depends: / { pd = substr($0, 14) } /^Depends: / { d = substr($0, 10) } /^Provides: / { pr = substr($0, 11) }
			/^$/ { flush() }
			END { flush() }' >"$W/meta"
		closure >"$W/closure" || die "cannot compute the package closure of $(tr '\n' ' ' <"$W/roots")"
		# Settled when every package of the closure was asked for by name.
		sed -e 's/[=/].*//' -e 's/:.*//' "$W/want" | sort -u >"$W/asked"
		comm -23 "$W/closure" "$W/asked" >"$W/more"
		[ -s "$W/more" ] || break
		cat "$W/more" >>"$W/want"
	done
	# shellcheck disable=SC2046 # package names
	apt-cache madison $(cat "$W/closure") | awk -F '|' '
		{
			gsub(/ /, "", $1); gsub(/ /, "", $2); split($3, f, " ")
			dist = f[2]; sub(/\/.*/, "", dist); if (dist == "." || dist == "") dist = f[1]
			print $1 "\t" $2 "\t" dist
		}' >"$W/suites"
	# One line per package of the closure; the suite is the security one when it has that version.
	awk -F "$TAB" -v suites="$W/suites" -v meta="$W/meta" '
		function rank(d) { return d ~ /-security$/ ? 0 : d ~ /-updates$/ ? 1 : 2 }
		BEGIN {
			while ((getline l < meta) > 0) { split(l, m, "\t"); ver[m[1]] = m[2]; arch[m[1]] = m[3]; sha[m[1]] = m[4] }
			while ((getline l < suites) > 0) {
				split(l, s, "\t"); k = s[1] "\t" s[2]
				if (!(k in best) || rank(s[3]) < rank(best[k]) || (rank(s[3]) == rank(best[k]) && s[3] < best[k])) best[k] = s[3]
			}
		}
		{ k = $1 "\t" ver[$1]; print $1 "\t" ver[$1] "\t" arch[$1] "\t" sha[$1] "\t" ((k in best) ? best[k] : "") }' \
		"$W/closure" >"$OUT/$n.tsv"
	log "$(wc -l <"$OUT/$n.tsv") packages"
done
log "done"
