module etcdlab/porcupinecheck

go 1.19

require github.com/anishathalye/porcupine v0.0.0

// scripts/porcupine-check.sh builds a copy of this folder with a replace line pointing at the
// porcupine source it is given:
// replace github.com/anishathalye/porcupine => /path/to/porcupine
