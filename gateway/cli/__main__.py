"""`python -m gateway.cli`: the same commands as the installed `gateway`."""

from gateway.cli import main

main()
