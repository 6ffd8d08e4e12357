// Command backbone-job runs the steps of the operator's Jobs: ingest (the ingestion
// CronJob's) and aggregate (the aggregation Job's), the same commands as backbone ingest
// and backbone aggregate (internal/jobcmd). It links no Kubernetes client, no manager and
// no publisher: a Job's process starts in half the time the whole backbone binary takes to
// initialise its packages, which every Job pod pays (docs/image.md).
package main

import (
	// The time zone database, as in backbone: Initiatives' zones resolve in an image
	// without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/spf13/cobra"

	"github.com/backbone-dev/backbone/internal/cli"
	"github.com/backbone-dev/backbone/internal/jobcmd"
	"github.com/backbone-dev/backbone/internal/pipeline/mempool"
	"github.com/backbone-dev/backbone/internal/versioncmd"
)

func main() {
	cli.Main(newRootCommand())
}

func newRootCommand() *cobra.Command {
	root := cli.Root("backbone-job", "The steps of Backbone's Jobs: ingest a DataSource, aggregate an Initiative")
	// As in backbone: the steps recycle Arrow's buffers (internal/pipeline/mempool).
	root.PersistentPreRun = func(*cobra.Command, []string) { mempool.InstallDefault() }
	root.AddCommand(jobcmd.Ingest(), jobcmd.Aggregate(), versioncmd.Command())
	return root
}
