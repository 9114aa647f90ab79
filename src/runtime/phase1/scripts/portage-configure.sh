#!/bin/sh
# imgsdk shell for Gentoo images: configures the builder as a build would
# (portage-setup.sh), then stops before the first emerge and says what a build would run.
#
# In:  /imgsdk/in   as portage-setup.sh says (the columns of its lists:
#                   src/contract/builder-files.ts)
#
# POSIX sh; needs emerge, portageq, emaint, awk, sed, sort, sha256sum.
set -eu

. "$(dirname "$0")/portage-setup.sh"

portage_begin
portage_configure
portage_provided

pk=$(tr '\n' ' ' <"$W/packages")
log "builder configured for ${IMAGE:-the image}; a build would now run:"
log "  emerge --oneshot --onlydeps --with-bdeps=y $EMERGE_OPTS $pk"
log "  ROOT=$R emerge --root=$R --root-deps=rdeps --oneshot $EMERGE_OPTS $pk"
