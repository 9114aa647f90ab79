# Shared by debian.sh, debian-lock.sh and the Gentoo entries (sourced, POSIX sh): logging,
# failing, hooks, and the Debian package closure.
# $IN is the image's assembly directory inside the builder container.

log() { printf 'imgsdk: %s\n' "$*"; }

# Records that step $1 starts now (name TAB milliseconds since the epoch) in
# $OUT/steps.tsv (STEPS in src/contract/builder-files.ts): the host reads the
# durations from it (deploy's timing events).
mark() { printf '%s\t%s\n' "$1" "$(date +%s%3N)" >>"$OUT/steps.tsv"; }

die() {
	printf 'imgsdk: error: %s\n' "$*" >&2
	exit 1
}

# Runs a hook of the image if it has one; $ROOT, when set, is exported for it.
hook() {
	[ -f "$IN/hooks/$1.sh" ] || return 0
	log "hook $1${ROOT:+ (ROOT=$ROOT)}"
	sh -eu "$IN/hooks/$1.sh" || die "hook $1 failed (exit $?)"
}

# The package closure of the names in file $1 (one a line) over the packages on
# stdin ("name TAB depends TAB provides" lines; depends as in Depends:, with
# Pre-Depends), sorted, into file $2. Alternatives take the first one present,
# else the first one provided. A root that no package is or provides is an error
# line "imgsdk: error: $3<root>$4" and exit 1. debian.sh runs it over the installed
# packages, debian-lock.sh over the archive's metadata.
# With $5, how each dependency of the closure resolved goes there too (DEPENDS in
# src/contract/builder-files.ts): this is the only place the rule is applied; the
# host reads its result (packages.json's depends, what slimming keeps whole) and
# does not resolve alternatives again.
pkg_closure() {
	if [ -n "${5:-}" ]; then : >"$5"; fi
	awk -F "$(printf '\t')" -v roots="$1" -v pre="$3" -v post="$4" -v edges="${5:-}" '
		function bare(s) {
			sub(/\(.*/, "", s); gsub(/[ \t]/, "", s); sub(/:.*/, "", s)
			return s
		}
		# A package satisfying name, directly or through Provides.
		function pick(name) {
			if (name in inst) return name
			if (name in prov) return prov[name]
			return ""
		}
		{
			inst[$1] = 1; deps[$1] = $2
			n = split($3, pv, ",")
			for (i = 1; i <= n; i++) { v = bare(pv[i]); if (v != "" && !(v in prov)) prov[v] = $1 }
		}
		END {
			while ((getline r < roots) > 0) {
				p = pick(r)
				if (p == "") { print "imgsdk: error: " pre r post > "/dev/stderr"; bad = 1; continue }
				if (!(p in seen)) { seen[p] = 1; queue[qn++] = p }
			}
			if (bad) exit 1
			for (qi = 0; qi < qn; qi++) {
				ng = split(deps[queue[qi]], groups, ",")
				for (g = 1; g <= ng; g++) {
					na = split(groups[g], alts, "|"); chosen = ""
					# Alternatives: the first one that is present, else the first one provided.
					for (a = 1; a <= na && chosen == ""; a++) { n = bare(alts[a]); if (n in inst) chosen = n }
					for (a = 1; a <= na && chosen == ""; a++) chosen = pick(bare(alts[a]))
					if (edges != "" && chosen != "" && chosen != queue[qi]) print queue[qi] "\t" chosen > edges
					if (chosen != "" && !(chosen in seen)) { seen[chosen] = 1; queue[qn++] = chosen }
				}
			}
			for (p in seen) print p
		}' >"$2.raw" || return 1
	sort -u "$2.raw" >"$2"
	rm -f "$2.raw"
	if [ -n "${5:-}" ]; then sort -u -o "$5" "$5"; fi
}

# Splits a locale name as localedef takes it (de_DE.ISO-8859-15@euro): sets loc_src, the
# source under /usr/share/i18n/locales (de_DE@euro), loc_cs, the charset (ISO-8859-15, UTF-8
# when none is named), and loc_dir, glibc's normalized name under /usr/lib/locale
# (de_DE.iso885915@euro). Shared by debian.sh and portage.sh so both name a locale alike.
locale_parts() {
	loc_lang=${1%%.*}
	loc_lang=${loc_lang%%@*}
	loc_cs=UTF-8
	case $1 in *.*)
		loc_cs=${1#*.}
		loc_cs=${loc_cs%%@*}
		;;
	esac
	loc_mod=''
	case $1 in *@*) loc_mod="@${1#*@}" ;; esac
	loc_src="$loc_lang$loc_mod"
	loc_dir="$loc_lang.$(printf '%s' "$loc_cs" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')$loc_mod"
}
