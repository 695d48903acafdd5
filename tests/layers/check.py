#!/usr/bin/env python3
# Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
"""Fails when a kernel layer includes a header of a layer above it.

The kernel's layers, bottom up, and what each may include (docs/architecture.md):
platform and codec (both at the bottom), core, host, net, app. A layer may include its own
headers and those of the layers below it, never one above: an upward include is how a layer
ends up depending on everything (host once read the whole app configuration).

    tests/layers/check.py [KERNEL_DIR]      (default: kernel/ beside this file's tests/)
"""
import pathlib
import re
import sys

ALLOWED = {
    'platform': {'platform'},
    'codec': {'codec'},
    'core': {'platform', 'codec', 'core'},
    'host': {'platform', 'codec', 'core', 'host'},
    'net': {'platform', 'codec', 'core', 'host', 'net'},
    'app': {'platform', 'codec', 'core', 'host', 'net', 'app'},
}
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([a-z_]+)/[^"]+"', re.M)


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                        pathlib.Path(__file__).resolve().parents[2] / 'kernel')
    bad = []
    checked = 0
    for layer, allowed in ALLOWED.items():
        folder = root / layer
        if not folder.is_dir():
            bad.append(f'{folder}: the layer folder is missing')
            continue
        for path in sorted(folder.rglob('*')):
            if path.suffix not in ('.hpp', '.cpp', '.h', '.c'):
                continue
            checked += 1
            text = path.read_text(encoding='utf-8', errors='replace')
            for m in INCLUDE.finditer(text):
                target = m.group(1)
                if target in ALLOWED and target not in allowed:
                    line = text.count('\n', 0, m.start()) + 1
                    bad.append(f'{path.relative_to(root.parent)}:{line}: {layer}/ includes {target}/ '
                               f'(a layer above it; {layer}/ may include {", ".join(sorted(allowed))})')
    for b in bad:
        print(b)
    print(f'layers: {checked} files checked, {len(bad)} upward includes')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
