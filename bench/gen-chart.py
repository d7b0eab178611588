#!/usr/bin/env python3
"""Writes the benchmark chart: N templates, each a ConfigMap with K keys from values.

Usage: gen-chart.py DIR [N] [K]   (defaults: 200 templates, 50 keys, about 500 KB rendered)
"""
import sys
from pathlib import Path

root = Path(sys.argv[1])
templates = int(sys.argv[2]) if len(sys.argv) > 2 else 200
keys = int(sys.argv[3]) if len(sys.argv) > 3 else 50

(root / "templates").mkdir(parents=True, exist_ok=True)
(root / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 1.0.0\nappVersion: \"1.0\"\n")
values = ["settings:"]
for k in range(keys):
    values.append(f"  key{k:02d}: \"value number {k} with some padding text\"")
(root / "values.yaml").write_text("\n".join(values) + "\n")
(root / "templates" / "_labels.tpl").write_text(
    "app.kubernetes.io/name: {{ chart.name }}\napp.kubernetes.io/instance: {{ release.name }}\n"
)
for t in range(templates):
    (root / "templates" / f"cm{t:03d}.yaml").write_text(
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        f"  name: {{{{ release.name }}}}-cm{t:03d}\n"
        "  labels:{{ include(name=\"templates/_labels.tpl\") | nindent(width=4) }}\n"
        "data:\n"
        "{% for key, value in values.settings %}"
        f"  {{{{ key }}}}: {{{{ (value ~ \"-{t}\") | quote }}}}\n"
        "{% endfor %}"
    )
