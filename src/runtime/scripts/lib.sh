# Shared by debian.sh and portage.sh (sourced, POSIX sh): logging, failing, hooks.
# $IN is the image's assembly directory inside the builder container.

log() { printf 'imgsdk: %s\n' "$*"; }

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
