package gcpolicy

import "os"

// batchPolicies are the policies of the commands that run as a short batch step: the
// aggregation Job's and the ingestion Job's.
var batchPolicies = map[string]func() bool{"aggregate": ForAggregate, "ingest": ForIngest}

// A program's packages allocate while they are initialised, before main runs: a binary that
// links the cloud SDKs, the spreadsheet reader and the Kubernetes clients allocates more
// than the collector's first goal (4 MB), and collects once before its first line of work.
// This package imports nothing but standard packages that initialise nothing of weight
// (the runtime's, math, os, strconv, strings, sync), so it is initialised among the
// first; when the command line names a batch command, its policy is set here, before the
// others allocate. The command, calling its policy again, changes nothing more.
func init() {
	if set := batchPolicy(os.Args); set != nil {
		set()
	}
}

// batchPolicy returns the policy of the batch command the command line names as its first
// argument that is not a flag (the commands' flags come after the command's name), or nil.
func batchPolicy(args []string) func() bool {
	for _, a := range args[min(1, len(args)):] {
		if len(a) > 0 && a[0] == '-' {
			continue
		}
		return batchPolicies[a]
	}
	return nil
}
