"""`python -m nn_tui` runs the same CLI as the `nn-tui` command."""

from nn_tui.cli import main

if __name__ == "__main__":
    main()
