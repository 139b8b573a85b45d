"""`python -m listener.cli` is `undertow`."""

from listener.cli import main

main(prog_name="undertow")
