// Command backbone is Backbone's one binary: the operator's manager, the ingest and
// aggregate steps its Jobs run, and local mode, which runs the same pipeline on manifests
// in a folder without a cluster.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "backbone",
		Short:         "Shared measurement for collective-impact initiatives",
		Long:          "Backbone computes the common indicators of collective-impact initiatives, disaggregated,\nprotected by small-cell suppression and annotated with equity statistics.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newLocalCommand(), newIngestCommand(), newAggregateCommand(), newVersionCommand())
	return root
}
