#!/usr/bin/env python3
"""Writes two charts that render the same ConfigMaps: a parent with 3 subcharts in
charts/, and one flat chart holding every template itself.

Usage: gen-deps-chart.py DIR [T] [K]   (T templates per chart, K keys each; defaults 50, 50)
DIR/tree is the parent with its subcharts, DIR/flat the single chart.
"""
import sys
from pathlib import Path

root = Path(sys.argv[1])
per_chart = int(sys.argv[2]) if len(sys.argv) > 2 else 50
keys = int(sys.argv[3]) if len(sys.argv) > 3 else 50
SUBCHARTS = ["sub0", "sub1", "sub2"]

values = "settings:\n" + "".join(
    f"  key{k:02d}: \"value number {k} with some padding text\"\n" for k in range(keys)
)
labels = "app.kubernetes.io/part-of: bench\napp.kubernetes.io/instance: {{ release.name }}\n"


def template(prefix, t):
    return (
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        f"  name: {{{{ release.name }}}}-{prefix}cm{t:03d}\n"
        "  labels:{{ include(name=\"templates/_labels.tpl\") | nindent(width=4) }}\n"
        "data:\n"
        "{% for key, value in values.settings %}"
        f"  {{{{ key }}}}: {{{{ (value ~ \"-{t}\") | quote }}}}\n"
        "{% endfor %}"
    )


def chart(directory, name, templates, dependencies=""):
    (directory / "templates").mkdir(parents=True, exist_ok=True)
    (directory / "Chart.yaml").write_text(
        f"apiVersion: v2\nname: {name}\nversion: 1.0.0\nappVersion: \"1.0\"\n{dependencies}"
    )
    (directory / "values.yaml").write_text(values)
    (directory / "templates" / "_labels.tpl").write_text(labels)
    for file_name, text in templates:
        (directory / "templates" / file_name).write_text(text)


own = [(f"cm{t:03d}.yaml", template("", t)) for t in range(per_chart)]
deps = "dependencies:\n" + "".join(f"  - name: {s}\n    version: 1.0.0\n" for s in SUBCHARTS)
chart(root / "tree", "bench", own, deps)
for sub in SUBCHARTS:
    chart(
        root / "tree" / "charts" / sub,
        sub,
        [(f"cm{t:03d}.yaml", template(f"{sub}-", t)) for t in range(per_chart)],
    )
flat = list(own)
for sub in SUBCHARTS:
    flat += [(f"{sub}-cm{t:03d}.yaml", template(f"{sub}-", t)) for t in range(per_chart)]
chart(root / "flat", "bench", flat)
