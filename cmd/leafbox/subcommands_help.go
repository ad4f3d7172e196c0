package main

import (
	"fmt"
	"io"
)

// cmdHelp is the help of one operator subcommand; its flags are printed
// from the flag set.
type cmdHelp struct {
	usage, about, example string
}

// otaSubcommands lists the ota subcommands in the order help shows them.
func otaSubcommands() []string {
	return []string{"keygen", "pack", "sign", "verify", "install", "status", "command"}
}

// subcommandHelp is the help of the subcommand whose flag set is named name
// ("id", or an ota subcommand).
func subcommandHelp(name string) cmdHelp {
	switch name {
	case "id":
		return cmdHelp{
			"leafbox id [-c FILE | -dir DIR]",
			"Print the device id (the identity's public nkey), creating the identity on first use.",
			"leafbox id -c /etc/leafbox/leafbox.conf",
		}
	case "keygen":
		return cmdHelp{
			"leafbox ota keygen -o SEEDFILE",
			"Create an operator signing key: the seed goes to SEEDFILE (created, mode 0600),\nthe public key to stdout (put it in device { ota { trusted_keys } }).",
			"leafbox ota keygen -o operator.seed",
		}
	case "pack":
		return cmdHelp{
			"leafbox ota pack -version V -board B [-min-version V] [-zstd] -rootfs IMG [-boot IMG] [-key SEEDFILE] -o BUNDLE",
			"Build a bundle and print its manifest; with -key it is signed, else sign it later.",
			"leafbox ota pack -version 2.1.0 -board rpi4 -zstd -rootfs rootfs.ext4 -boot boot.vfat -o gw-2.1.0.lbota",
		}
	case "sign":
		return cmdHelp{
			"leafbox ota sign -key SEEDFILE BUNDLE",
			"Sign a packed bundle in place and print its manifest.",
			"leafbox ota sign -key operator.seed gw-2.1.0.lbota",
		}
	case "verify":
		return cmdHelp{
			"leafbox ota verify (-trusted PUBKEY[,PUBKEY] | -c FILE) BUNDLE",
			"Check the signature and every image of a bundle; print the manifest.",
			"leafbox ota verify -trusted OABC... gw-2.1.0.lbota",
		}
	case "install":
		return cmdHelp{
			"leafbox ota install -c FILE [-force] [-no-reboot] BUNDLE|URL",
			"Verify a bundle, write it into the inactive slot and reboot into it as a trial.",
			"leafbox ota install -c /etc/leafbox/leafbox.conf https://updates.example.com/gw-2.1.0.lbota",
		}
	case "status":
		return cmdHelp{
			"leafbox ota status -c FILE",
			"Print the boot state, slots and update history as JSON.",
			"leafbox ota status -c /etc/leafbox/leafbox.conf",
		}
	case "command":
		return cmdHelp{
			"leafbox ota command -key SEEDFILE -device ID (-url URL | -bucket B -object NAME) [-force] [-reboot=false]",
			"Print a signed install command to publish on $LB.<ID>.ota.install.",
			"leafbox ota command -key operator.seed -device UABC... -url https://updates.example.com/gw-2.1.0.lbota",
		}
	}
	return cmdHelp{usage: "leafbox " + name}
}

// otaUsage prints the help of "leafbox ota".
func otaUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: leafbox ota SUBCOMMAND [flags] [args]\n\nSigned A/B updates. Subcommands:\n\n")
	for _, name := range otaSubcommands() {
		h := subcommandHelp(name)
		fmt.Fprintf(w, "  %-8s %s\n", name, h.usage)
	}
	fmt.Fprint(w, "\n\"leafbox ota SUBCOMMAND -h\" shows its flags and an example.\n\nExample:\n")
	for _, name := range []string{"keygen", "pack", "install"} {
		fmt.Fprintf(w, "  %s\n", subcommandHelp(name).example)
	}
}
