package node

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/gridmint/gridmint/meter/mqtt"
	"github.com/gridmint/gridmint/meter/sunspec"
	"github.com/gridmint/gridmint/wallet"
)

func TestTemplateParsesToDefaults(t *testing.T) {
	acct, _ := wallet.ParseAddress("0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf")
	c, err := ParseConfig(RenderConfig("gridmint-devnet", "gridmint-node", acct))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Account = acct
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("template parses to\n%+v\nwant\n%+v", c, want)
	}
}

// TestTemplateNamesEveryOption keeps the commented template complete: every
// toml key of Config must appear in it, preceded by a comment line.
func TestTemplateNamesEveryOption(t *testing.T) {
	var walk func(reflect.Type, string)
	lines := strings.Split(ConfigTemplate, "\n")
	walk = func(ty reflect.Type, section string) {
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			key := f.Tag.Get("toml")
			if key == "device" {
				// Devices are tables of their adapter's own options: the
				// template shows commented examples of each family.
				for _, k := range []string{"# [[device]]", `# kind = "sunspec"`, `# kind = "mqtt"`} {
					if !strings.Contains(ConfigTemplate, k) {
						t.Errorf("device example %q missing from the template", k)
					}
				}
				continue
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(wallet.Address{}) {
				if !strings.Contains(ConfigTemplate, "\n["+key+"]\n") {
					t.Errorf("section [%s] missing from the template", key)
				}
				walk(f.Type, key)
				continue
			}
			found := false
			for j, l := range lines {
				if strings.HasPrefix(l, key+" = ") {
					found = true
					if j == 0 || !strings.HasPrefix(lines[j-1], "#") {
						t.Errorf("option %s.%s has no comment above it", section, key)
					}
				}
			}
			if !found {
				t.Errorf("option %s.%s missing from the template", section, key)
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
}

func TestBadConfigs(t *testing.T) {
	cases := map[string]string{
		"unknown key":    "chain_id = \"gridmint-devnet\"\nchian = 1\n",
		"bad chain id":   "chain_id = \"Grid Mint\"\n",
		"bad level":      "[log]\nlevel = \"loud\"\n",
		"bad listen":     "[api]\nlisten = \"localhost\"\n",
		"wrong type":     "[p2p]\nmax_peers = \"many\"\n",
		"bad address":    "account = \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD\"\n",
		"meter no key":   "[meter]\nenabled = true\n",
		"poll too slow":  "[meter]\npoll_seconds = 0\n",
		"not toml":       "chain_id = \n",
		"unknown device": "[[device]]\nkind = \"toaster\"\n",
		"device no kind": "[[device]]\naddress = \"x\"\n",
	}
	for name, data := range cases {
		if _, err := ParseConfig([]byte(data)); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", name, err)
		}
	}
}

// TestDeviceExamples: the commented examples in the template, uncommented,
// decode into the adapters' own configuration types with no unknown key.
func TestDeviceExamples(t *testing.T) {
	var lines []string
	on := false
	for _, l := range strings.Split(ConfigTemplate, "\n") {
		if strings.HasPrefix(l, "# [[device]]") {
			on = true
		}
		if on && strings.HasPrefix(l, "# ") {
			lines = append(lines, strings.TrimPrefix(l, "# "))
		}
	}
	doc := strings.ReplaceAll(strings.Join(lines, "\n"), "%%", "%")
	c, err := ParseConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	specs, err := c.DeviceSpecs()
	if err != nil || len(specs) != 3 {
		t.Fatalf("%d specs, %v", len(specs), err)
	}
	for _, s := range specs {
		var err error
		switch s.Kind {
		case "sunspec":
			var cfg sunspec.Config
			err = s.Decode(&cfg)
		case "mqtt":
			var cfg mqtt.Config
			err = s.Decode(&cfg)
		}
		if err != nil {
			t.Errorf("%s: %v", s.Kind, err)
		}
	}
	bad := Config{Devices: []map[string]any{{"kind": "sunspec", "adress": "typo:502"}}}
	specs, _ = bad.DeviceSpecs()
	var cfg sunspec.Config
	if err := specs[0].Decode(&cfg); !errors.Is(err, ErrConfig) {
		t.Fatalf("typo in a device option: %v", err)
	}
}

// FuzzParseConfig: any bytes either fail with ErrConfig or give a config
// that is valid and round-trips: it encodes to TOML that parses back to the
// same config, and that encoding is stable (encode(parse(encode(c))) ==
// encode(c)).
func FuzzParseConfig(f *testing.F) {
	acct, _ := wallet.ParseAddress("0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf")
	f.Add(RenderConfig("gridmint-devnet", "gridmint-node", acct))
	var lines []string
	for _, l := range strings.Split(ConfigTemplate, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "# "))
	}
	f.Add([]byte(strings.ReplaceAll(strings.Join(lines, "\n"), "%%", "%")))
	f.Add([]byte("chain_id = \"gridmint-devnet\"\n[p2p]\nmax_peers = 7\nbootstrap = [\"/ip4/127.0.0.1/tcp/1\"]\n"))
	f.Add([]byte("[[device]]\nkind = \"sim\"\nseed = 3\n[[device]]\nkind = \"mqtt\"\nbroker = \"tcp://127.0.0.1:1883\"\n"))
	f.Add([]byte("[meter]\nenabled = true\nsite_key_file = \"k\"\npoll_seconds = 900\n"))
	f.Add([]byte("chain_id = \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
		enc, err := toml.Marshal(c)
		if err != nil {
			t.Fatalf("parsed config does not encode: %v", err)
		}
		c2, err := ParseConfig(enc)
		if err != nil {
			t.Fatalf("encoding of a parsed config does not parse: %v\n%s", err, enc)
		}
		enc2, err := toml.Marshal(c2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable (%v):\n%s\n---\n%s", err, enc, enc2)
		}
		c.Devices, c2.Devices = nil, nil // TOML integers come back as int64 whatever they were
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", c, c2)
		}
		if _, err := c2.DeviceSpecs(); err != nil {
			t.Fatalf("DeviceSpecs: %v", err)
		}
	})
}
