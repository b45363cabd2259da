#!/bin/sh
# Copy the front-end assets that `npm ci` installed (package-lock.json) to where the services serve
# them (/ui-static/vendor): used by `make assets` and by deploy/Dockerfile's assets stage.
set -eu
V=shared/ui/static/vendor
rm -rf "$V"
mkdir -p "$V/dkfds/css" "$V/dkfds/js" "$V/dkfds/fonts/IBMPlexSans/complete" "$V/dkfds/img" "$V/axe"
D=node_modules/dkfds/dist
cp "$D/css/dkfds.min.css" "$V/dkfds/css/"
cp "$D/js/dkfds.min.js" "$V/dkfds/js/"
cp -r "$D/fonts/IBMPlexSans/complete/woff2" "$D/fonts/IBMPlexSans/complete/woff" "$V/dkfds/fonts/IBMPlexSans/complete/"
cp "$D"/img/*.png "$D/img/all-svg-icons.svg" "$V/dkfds/img/"
cp "$D/LICENSE.md" "$V/dkfds/"
cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE "$V/axe/"
touch "$V/.installed"
