#!/bin/sh
# imgsdk lock and outdated for Gentoo images, run inside a container of a Gentoo builder:
# configures the builder as a build does (portage-setup.sh), then asks emerge what it
# would merge into the root (--pretend, nothing is built).
#
# In:  /imgsdk/in   as portage-setup.sh says (the columns of its lists:
#                   src/contract/builder-files.ts); portage/imgsdk/lock.list is not read: a
#                   lock resolves what the tree has now
# Out: /imgsdk/out  pretend.txt   emerge --pretend's report, which src/sdk/portage/lock.ts parses
#
# POSIX sh; needs emerge, portageq, emaint, awk, sed, sort, sha256sum.
set -eu

. "$(dirname "$0")/portage-setup.sh"

portage_begin
portage_configure
portage_provided

ROOT=$R
export ROOT
log "resolving $(tr '\n' ' ' <"$W/packages")for $R (emerge --pretend)"
# shellcheck disable=SC2046,SC2086
emerge --pretend --verbose --color=n --nospinner --root="$R" --root-deps=rdeps --oneshot $EMERGE_OPTS $(cat "$W/packages") >"$OUT/pretend.txt" ||
	{ cat "$OUT/pretend.txt"; die "emerge --pretend failed: Portage cannot resolve the packages of ${IMAGE:-the image}"; }
cat "$OUT/pretend.txt"
