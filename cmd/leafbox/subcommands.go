package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/device/identity"
	"github.com/leafbox/leafbox/device/ota"
)

// runSubcommand runs an operator subcommand when args start with one, and
// reports whether it did. The subcommands, their flags and examples are in
// subcommandHelp; each prints them for -h or --help, and "leafbox ota -h"
// lists the ota subcommands.
func runSubcommand(ctx context.Context, args []string, stdout, stderr io.Writer) (code int, handled bool) {
	if len(args) == 0 {
		return 0, false
	}
	var err error
	switch args[0] {
	case "id":
		err = cmdID(args[1:], stdout)
	case "ota":
		if len(args) < 2 {
			err = errors.New("usage: leafbox ota keygen|pack|sign|verify|install|status|command ... (see leafbox ota -h)")
			break
		}
		if h := args[1]; h == "-h" || h == "-help" || h == "--help" || h == "help" {
			otaUsage(stdout)
			return 0, true
		}
		sub := map[string]func(context.Context, []string, io.Writer) error{
			"keygen": cmdKeygen, "pack": cmdPack, "sign": cmdSign, "verify": cmdVerify,
			"install": cmdInstall, "status": cmdStatus, "command": cmdCommand,
		}[args[1]]
		if sub == nil {
			err = fmt.Errorf("unknown ota subcommand %q (see leafbox ota -h)", args[1])
			break
		}
		err = sub(ctx, args[2:], stdout)
	default:
		return 0, false
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0, true
	}
	if err != nil {
		fmt.Fprintf(stderr, "leafbox %s: %v\n", args[0], err)
		return 1, true
	}
	return 0, true
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args into fs; for -h or --help it prints the
// subcommand's help to stdout and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		h := subcommandHelp(fs.Name())
		fmt.Fprintf(stdout, "Usage: %s\n\n%s\n\nFlags:\n", h.usage, h.about)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprintf(stdout, "\nExample:\n  %s\n", h.example)
	}
	return err
}

// deviceOptions loads a config file that has a device block.
func deviceOptions(path string) (*config.Options, error) {
	if path == "" {
		return nil, errors.New("-c FILE is required")
	}
	opts, err := config.ParseFile(path)
	if err != nil {
		return nil, err
	}
	if !opts.Device.Enabled {
		return nil, fmt.Errorf("%s has no device block", path)
	}
	return opts, nil
}

func cmdID(args []string, stdout io.Writer) error {
	fs := newFlags("id")
	conf := fs.String("c", "", "config file")
	dir := fs.String("dir", "", "identity directory")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *dir == "" {
		opts, err := deviceOptions(*conf)
		if err != nil {
			return err
		}
		*dir = opts.Device.Identity.Dir
	}
	id, err := identity.Load(*dir)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, id.ID())
	return nil
}

func cmdKeygen(_ context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("keygen")
	out := fs.String("o", "", "seed file to create")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-o SEEDFILE is required")
	}
	kp, err := nkeys.CreateOperator()
	if err != nil {
		return err
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(seed, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, pub)
	return nil
}

// readKey loads an nkey seed file.
func readKey(path string) (nkeys.KeyPair, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(b))))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kp, nil
}

func cmdPack(_ context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("pack")
	var o ota.PackOptions
	fs.StringVar(&o.Version, "version", "", "software version")
	fs.StringVar(&o.Board, "board", "", "board compatible string")
	fs.StringVar(&o.MinVersion, "min-version", "", "lowest version that may install it")
	fs.BoolVar(&o.Compress, "zstd", false, "compress the images")
	rootfs := fs.String("rootfs", "", "rootfs image")
	boot := fs.String("boot", "", "boot partition image")
	key := fs.String("key", "", "operator seed file to sign with")
	out := fs.String("o", "", "bundle to write")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *rootfs == "" || *out == "" {
		return errors.New("-rootfs and -o are required")
	}
	o.Images = []ota.PackImage{{Name: ota.ImageRootfs, Path: *rootfs}}
	if *boot != "" {
		o.Images = append(o.Images, ota.PackImage{Name: ota.ImageBoot, Path: *boot})
	}
	if *key != "" {
		kp, err := readKey(*key)
		if err != nil {
			return err
		}
		o.Signer = kp
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	m, err := ota.Pack(f, o)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	return printJSON(stdout, m)
}

func cmdSign(_ context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("sign")
	key := fs.String("key", "", "operator seed file")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *key == "" || fs.NArg() != 1 {
		return errors.New("usage: leafbox ota sign -key SEEDFILE BUNDLE")
	}
	kp, err := readKey(*key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(fs.Arg(0), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	m, err := ota.Sign(f, kp)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return printJSON(stdout, m)
}

func cmdVerify(_ context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("verify")
	trusted := fs.String("trusted", "", "trusted public keys, comma-separated")
	conf := fs.String("c", "", "config file with ota.trusted_keys")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: leafbox ota verify (-trusted KEYS | -c FILE) BUNDLE")
	}
	var keys []string
	if *trusted != "" {
		keys = strings.Split(*trusted, ",")
	} else {
		opts, err := deviceOptions(*conf)
		if err != nil {
			return err
		}
		if opts.Device.OTA == nil {
			return errors.New("the config has no ota block")
		}
		keys = opts.Device.OTA.TrustedKeys
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := ota.Verify(f, keys)
	if err != nil {
		return err
	}
	return printJSON(stdout, h)
}

// otaManager builds a manager from the config, for install and status.
func otaManager(path string) (*ota.Manager, error) {
	opts, err := deviceOptions(path)
	if err != nil {
		return nil, err
	}
	cfg := opts.Device.OTA
	if cfg == nil {
		return nil, errors.New("the config has no ota block")
	}
	bc, err := cfg.NewBootControl()
	if err != nil {
		return nil, err
	}
	deviceID := ""
	if id, err := identity.Load(opts.Device.Identity.Dir); err == nil {
		deviceID = id.ID()
	}
	otaCfg := *cfg
	otaCfg.Version = version // the running software's
	return ota.New(otaCfg, ota.Deps{Boot: bc, Reboot: ota.SyscallReboot{}, DeviceID: deviceID})
}

func cmdInstall(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("install")
	conf := fs.String("c", "", "config file")
	force := fs.Bool("force", false, "allow a downgrade")
	noReboot := fs.Bool("no-reboot", false, "arm the trial but do not reboot")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: leafbox ota install -c FILE [-force] [-no-reboot] BUNDLE|URL")
	}
	m, err := otaManager(*conf)
	if err != nil {
		return err
	}
	src, opts := ota.Source(ota.FileSource(fs.Arg(0))), ota.InstallOptions{Force: *force, Reboot: !*noReboot}
	if u := fs.Arg(0); strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		if src, err = httpSource(u); err != nil {
			return err
		}
	}
	man, err := m.Install(ctx, src, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "installed %s; trial boot armed\n", man.Version)
	return nil
}

func cmdStatus(_ context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("status")
	conf := fs.String("c", "", "config file")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	m, err := otaManager(*conf)
	if err != nil {
		return err
	}
	return printJSON(stdout, m.Status())
}

func cmdCommand(_ context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("command")
	key := fs.String("key", "", "operator seed file")
	var c ota.Command
	fs.StringVar(&c.Device, "device", "", "device id")
	fs.StringVar(&c.URL, "url", "", "bundle URL")
	fs.StringVar(&c.Bucket, "bucket", "", "object store bucket")
	fs.StringVar(&c.Object, "object", "", "object name")
	fs.BoolVar(&c.Force, "force", false, "allow a downgrade")
	fs.BoolVar(&c.Reboot, "reboot", true, "reboot into the trial when installed")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *key == "" || c.Device == "" {
		return errors.New("-key and -device are required")
	}
	kp, err := readKey(*key)
	if err != nil {
		return err
	}
	b, err := ota.SignCommand(c, kp)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return nil
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
