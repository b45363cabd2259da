"""One part of a batch of letters laid out by Typst in a process of its own (run by path, so it
imports Typst and nothing of the service): the template's path and the PDF's path as arguments,
the letters' data (JSON, as `sys.inputs.data`) on stdin. Typst keeps what it laid out for the
life of its process, so each part's process ends with its part (services/recruitment/printing)."""

import sys

import typst

if __name__ == "__main__":
    template, out = sys.argv[1], sys.argv[2]
    data = sys.stdin.buffer.read().decode()
    with open(template, "rb") as f:
        source = f.read()
    pdf = typst.compile(source, sys_inputs={"data": data}, ignore_system_fonts=True)
    with open(out, "wb") as f:
        f.write(pdf)
