// Command backbone-manager runs the operator: `backbone-manager manager` is `backbone
// manager` (internal/managercmd). It links neither local mode nor the Jobs' steps, so
// neither the connectors' clients (PostgreSQL, spreadsheets, cloud credentials chains)
// nor the engine's ingestion: the manager's resident binary pages and the memory its
// packages take while they initialise are those of what it runs (docs/image.md).
package main

import (
	"fmt"
	"os"
	// The time zone database, as in backbone: Initiatives' zones resolve in an image
	// without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/spf13/cobra"

	"github.com/backbone-dev/backbone/internal/managercmd"
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
		Use:           "backbone-manager",
		Short:         "Backbone's operator: reconcile Initiatives, DataSources and Indicators",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(managercmd.Command(), versioncmd.Command())
	return root
}
