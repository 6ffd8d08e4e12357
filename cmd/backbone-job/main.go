// Command backbone-job runs the steps of the operator's Jobs: ingest (the ingestion
// CronJob's) and aggregate (the aggregation Job's), the same commands as backbone ingest
// and backbone aggregate (internal/jobcmd). It links no Kubernetes client, no manager and
// no publisher: a Job's process starts in half the time the whole backbone binary takes to
// initialise its packages, which every Job pod pays (docs/image.md).
package main

import (
	"fmt"
	"os"
	// The time zone database, as in backbone: Initiatives' zones resolve in an image
	// without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/spf13/cobra"

	"github.com/backbone-dev/backbone/internal/jobcmd"
	"github.com/backbone-dev/backbone/internal/pipeline/mempool"
	"github.com/backbone-dev/backbone/internal/versioncmd"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "backbone-job",
		Short:         "The steps of Backbone's Jobs: ingest a DataSource, aggregate an Initiative",
		SilenceUsage:  true,
		SilenceErrors: true,
		// As in backbone: the steps recycle Arrow's buffers (internal/pipeline/mempool).
		PersistentPreRun: func(*cobra.Command, []string) { mempool.InstallDefault() },
	}
	root.AddCommand(jobcmd.Ingest(), jobcmd.Aggregate(), versioncmd.Command())
	return root
}
