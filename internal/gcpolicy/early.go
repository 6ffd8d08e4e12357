package gcpolicy

import "os"

// batchCommands are the commands that run as a short batch step: the aggregation Job's.
var batchCommands = []string{"aggregate"}

// A program's packages allocate while they are initialised, before main runs: a binary that
// links the cloud SDKs, the spreadsheet reader and the Kubernetes clients allocates more
// than the collector's first goal (4 MB), and collects once before its first line of work.
// This package imports nothing but the runtime's and the os package, so it is initialised
// among the first; when the command line names a batch command, its policy is set here,
// before the others allocate. ForBatch, called again by the command, changes nothing more.
func init() {
	if isBatch(os.Args) {
		ForBatch()
	}
}

// isBatch says the command line names a batch command as its first argument that is not
// a flag (the commands' flags come after the command's name).
func isBatch(args []string) bool {
	for _, a := range args[min(1, len(args)):] {
		if len(a) > 0 && a[0] == '-' {
			continue
		}
		for _, c := range batchCommands {
			if a == c {
				return true
			}
		}
		return false
	}
	return false
}
