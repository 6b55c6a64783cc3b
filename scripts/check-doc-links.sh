#!/usr/bin/env bash
# Usage: bash scripts/check-doc-links.sh
# Checks every relative link in README.md and docs/*.md: the target file exists and, for
# #anchor links, a heading with that GitHub anchor exists in it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - README.md docs/*.md <<'PY'
import os, re, sys
def anchors(path):
    out, seen, fence = set(), {}, False
    for line in open(path, encoding='utf-8'):
        if line.lstrip().startswith('```'):
            fence = not fence; continue
        m = None if fence else re.match(r'^(#{1,6})\s+(.*?)\s*#*\s*$', line)
        if not m: continue
        a = re.sub(r'[^\w\- ]', '', m.group(2).strip().lower()).replace(' ', '-')
        n = seen.get(a, 0); seen[a] = n + 1
        out.add(a if n == 0 else f'{a}-{n}')
    return out
bad = checked = 0
link = re.compile(r'!?\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
for src in sys.argv[1:]:
    fence = False
    for no, line in enumerate(open(src, encoding='utf-8'), 1):
        if line.lstrip().startswith('```'):
            fence = not fence; continue
        if fence: continue
        for target in link.findall(re.sub(r'`[^`]*`', '', line)):
            if re.match(r'^[a-z]+:', target): continue
            checked += 1
            path, _, frag = target.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(src), path)) if path else src
            if path.startswith('/') or not os.path.exists(dest):
                print(f'{src}:{no}: {target}: no such file'); bad += 1
            elif frag and dest.endswith('.md') and frag not in anchors(dest):
                print(f'{src}:{no}: {target}: no heading #{frag} in {dest}'); bad += 1
print(f'{checked} relative links checked, {bad} broken')
sys.exit(1 if bad else 0)
PY
