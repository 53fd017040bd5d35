#!/bin/sh
# A stand-in application for the example pipeline. Deployments land under $EXAMPLE_STATE
# (default: /tmp/finale-example) so the example leaves the repository untouched.
set -eu
state="${EXAMPLE_STATE:-/tmp/finale-example}"
here="examples/build-test-deploy"

case "${1:-}" in
  build)
    mkdir -p "$here/dist"
    printf 'app build %s of %s\n' "${BITBUCKET_BUILD_NUMBER:-0}" "${BITBUCKET_COMMIT:-unknown}" > "$here/dist/app.txt"
    echo "built $here/dist/app.txt"
    ;;
  test)
    echo "running ${2:-all} checks"
    test -f "$here/app.sh"
    echo "${2:-all} checks passed"
    ;;
  deploy)
    environment="${2:?environment}"
    test -f "$here/dist/app.txt" || { echo "no build artifact: did the Build step run?" >&2; exit 1; }
    mkdir -p "$state/$environment"
    # Temporary resources the final step must always remove, whatever happens here.
    touch "$state/$environment/preview-${BITBUCKET_BUILD_NUMBER:-0}"
    cp "$here/dist/app.txt" "$state/$environment/current"
    echo "deployed build ${BITBUCKET_BUILD_NUMBER:-0} to $environment ($BITBUCKET_DEPLOYMENT_ENVIRONMENT)"
    ;;
  cleanup)
    rm -f "$state"/*/preview-"${BITBUCKET_BUILD_NUMBER:-0}"
    echo "removed temporary resources of build ${BITBUCKET_BUILD_NUMBER:-0}"
    ;;
  *)
    echo "usage: app.sh build|test KIND|deploy ENV|cleanup" >&2
    exit 2
    ;;
esac
