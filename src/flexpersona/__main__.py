from flexpersona.cli import main

main()
