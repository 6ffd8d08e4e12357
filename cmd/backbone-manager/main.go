// Command backbone-manager runs the operator: `backbone-manager manager` is `backbone
// manager` (internal/managercmd). It links neither local mode nor the Jobs' steps, so
// neither the connectors' clients (PostgreSQL, spreadsheets, cloud credentials chains)
// nor the engine's ingestion: the manager's resident binary pages and the memory its
// packages take while they initialise are those of what it runs (docs/image.md).
package main

import (
	// The time zone database, as in backbone: Initiatives' zones resolve in an image
	// without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/spf13/cobra"

	"github.com/backbone-dev/backbone/internal/cli"
	"github.com/backbone-dev/backbone/internal/managercmd"
	"github.com/backbone-dev/backbone/internal/versioncmd"
)

func main() {
	cli.Main(newRootCommand())
}

func newRootCommand() *cobra.Command {
	root := cli.Root("backbone-manager", "Backbone's operator: reconcile Initiatives, DataSources and Indicators")
	root.AddCommand(managercmd.Command(), versioncmd.Command())
	return root
}
