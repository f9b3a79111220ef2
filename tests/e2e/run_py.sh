#!/bin/sh
# run_py.sh SCRIPT [ARGS...]: runs a Python end-to-end test with Debian's
# python3 (the one python3-slixmpp and the stdlib tests expect).
script=$1
shift
exec /usr/bin/python3 "$script" "$@"
