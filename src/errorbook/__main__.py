"""``python -m errorbook``: the same command line as the ``errorbook`` script."""

from errorbook._cli import main

if __name__ == "__main__":
    main(prog_name="errorbook")
