#!/bin/sh
# no_default.sh ROOT - fails on a `default:` in a switch over a synapse enum
# (one whose case labels name SYN_ values) anywhere in ROOT's src/, cli/,
# include/, tests/, examples/ and bench/ C files. Without a default, -Wswitch
# (an error under the build's -Werror) names every switch that a new enum
# value misses (issue 14); a switch that must treat "anything else" checks
# that before it. Exits 1 naming file and line of each offending default.
set -u
root=${1:-$(dirname "$0")/..}
files=$(find "$root/src" "$root/cli" "$root/include" "$root/tests" "$root/examples" \
             "$root/bench" -name node_modules -prune -o \( -name '*.c' -o -name '*.h' \) \
             -print 2>/dev/null)
[ -n "$files" ] || { echo "no_default.sh: no C files under $root" >&2; exit 1; }
# shellcheck disable=SC2086
awk '
FNR == 1 { depth = 0; top = 0; pending = 0; in_comment = 0 }
{
    line = $0
    # Drop comments, character and string literals (a brace or a word in
    # them is not code).
    out = ""
    i = 1
    while (i <= length(line)) {
        c = substr(line, i, 1); two = substr(line, i, 2)
        if (in_comment) {
            if (two == "*/") { in_comment = 0; i += 2 } else i++
            continue
        }
        if (two == "/*") { in_comment = 1; i += 2; continue }
        if (two == "//") break
        if (c == "\"" || c == "'\''") {
            q = c; i++
            while (i <= length(line) && substr(line, i, 1) != q) {
                if (substr(line, i, 1) == "\\") i++
                i++
            }
            i++; out = out " "; continue
        }
        out = out c; i++
    }
    if (out ~ /(^|[^A-Za-z0-9_])switch[ \t]*\(/) pending = 1
    n = length(out)
    for (i = 1; i <= n; i++) {
        c = substr(out, i, 1)
        if (c == "{") {
            depth++
            if (pending) { top++; sw_depth[top] = depth; syn[top] = 0; dflt[top] = 0; pending = 0 }
        } else if (c == "}") {
            if (top > 0 && sw_depth[top] == depth) {
                if (syn[top] && dflt[top]) {
                    printf "%s:%d: default: in a switch over a synapse enum\n", FILENAME, dflt[top]
                    bad = 1
                }
                top--
            }
            depth--
        }
    }
    if (top > 0 && out ~ /case[ \t]+SYN_[A-Z0-9_]+[ \t]*:/) syn[top] = 1
    if (top > 0 && out ~ /(^|[^A-Za-z0-9_])default[ \t]*:/) dflt[top] = FNR
}
END { exit bad }
' $files
