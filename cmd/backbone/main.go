// Command backbone is Backbone's command line: local mode, which runs the pipeline on
// manifests in a folder without a cluster, the ingest and aggregate steps the Jobs run and
// the operator's manager. The image runs the manager and the steps from the lean binaries
// backbone-manager and backbone-job, which have the same commands.
package main

import (
	// The time zone database, so that Initiatives' zones resolve in an image without
	// /usr/share/zoneinfo (about 450 KB).
	_ "time/tzdata"

	"github.com/spf13/cobra"

	"github.com/backbone-dev/backbone/internal/cli"
	"github.com/backbone-dev/backbone/internal/jobcmd"
	"github.com/backbone-dev/backbone/internal/managercmd"
	"github.com/backbone-dev/backbone/internal/pipeline/mempool"
	"github.com/backbone-dev/backbone/internal/versioncmd"
)

func main() {
	cli.Main(newRootCommand())
}

func newRootCommand() *cobra.Command {
	root := cli.Root("backbone", "Shared measurement for collective-impact initiatives")
	root.Long = "Backbone computes the common indicators of collective-impact initiatives, disaggregated,\nprotected by small-cell suppression and annotated with equity statistics."
	// Pipeline steps build, write and release the same buffers batch after batch: Arrow's
	// default allocator recycles them (internal/pipeline/mempool). The manager, a
	// long-running process that reads a result now and then, keeps Go's allocator: the
	// recycled buffers (up to 64 MiB) would stay resident between results.
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		if recyclesBuffers(cmd) {
			mempool.InstallDefault()
		}
	}
	root.AddCommand(managercmd.Command(), newLocalCommand(), jobcmd.Ingest(), jobcmd.Aggregate(), versioncmd.Command())
	return root
}

// recyclesBuffers says whether a command runs with the recycling allocator: every command
// but the manager.
func recyclesBuffers(cmd *cobra.Command) bool { return cmd.Name() != managercmd.Name }
