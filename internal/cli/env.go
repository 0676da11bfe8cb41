package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envAnnotation marks a flag with the environment variable that supplies
// its value when the flag is not given on the command line.
const envAnnotation = "flowfabric_env"

// bindEnv makes env the fallback of flag name and says so in its help.
func bindEnv(fs *pflag.FlagSet, name, env string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("cli: bindEnv: no flag " + name)
	}
	f.Usage += " (env " + env + ")"
	_ = fs.SetAnnotation(name, envAnnotation, []string{env})
}

// applyEnv fills every flag not given on the command line from its
// environment variable, if set and non-empty. A filled flag counts as
// changed, so "was it configured?" has one answer for both sources. The
// value is not echoed in errors: it may be a secret.
func applyEnv(cmd *cobra.Command, getenv func(string) string) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		for _, name := range f.Annotations[envAnnotation] {
			v := getenv(name)
			if v == "" {
				continue
			}
			if serr := cmd.Flags().Set(f.Name, v); serr != nil {
				err = usageError{fmt.Errorf("invalid %s for --%s: %v", name, f.Name, serr)}
			}
			return
		}
	})
	return err
}
