// Command docsign-ca runs the document signing CA server and its operator commands.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/docsign-ca/docsign-ca/internal/store"
)

const usage = `docsign-ca: a certificate authority for document signing certificates
with a CertCentral Services API v2 compatible API.

usage:
  docsign-ca serve [flags]                  run the server
  docsign-ca accounts create [flags]        create an account and print its administrator's API key
  docsign-ca keys create --user ID [flags]  create an API key for a user and print it once
  docsign-ca validation approve [flags]     complete an organization's validation
  docsign-ca users add [flags]              create a user who signs in to the web console at /console/
  docsign-ca certificates list [flags]      list the certificates the CA has signed
  docsign-ca tokens list [flags]            list the ship_token orders that wait for a token or its shipment
  docsign-ca tokens provision [flags]       generate an order's key on a token and write its certificate there
  docsign-ca tokens ship [flags]            record a token's shipment and e-mail the tracking number and the PIN
  docsign-ca ceremony [flags]               generate CA keys and certificates from a YAML file
  docsign-ca ca list [flags]                list the root and issuing CAs
  docsign-ca ca retire [flags]              stop new issuance from an issuing CA
  docsign-ca finance deposit [flags]        credit a container's balance
  docsign-ca promo add [flags]              add or change a percentage promo code

  docsign-ca audit verify [flags]           check the audit log's hash chain
  docsign-ca audit export [flags]           write the audit log as JSON lines
  docsign-ca backup --out FILE [flags]      archive the database and the CA key files, while the server runs
  docsign-ca restore --in FILE [flags]      unpack an archive into a new data directory
  docsign-ca restore --moved-from OLD [flags]  point the key paths at a moved or copied data directory

  docsign-ca dev seed --orders N [flags]    copy an issued order N times into a stopped server's database (benchmarks only)

Flags go after the command. Run a command with -h for its flags.
Every flag also reads DOCSIGN_<FLAG>.
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "docsign-ca:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("missing command")
	}

	if args[0] != "serve" {
		// Audit rows that operator commands write name them as the source.
		store.SetDefaultAuditSource(store.AuditSourceOperator)
	}

	switch cmd := args[0]; {
	case cmd == "serve":
		return serve(args[1:])
	case cmd == "accounts" && len(args) > 1 && args[1] == "create":
		return createAccount(args[2:])
	case cmd == "keys" && len(args) > 1 && args[1] == "create":
		return createKey(args[2:])
	case cmd == "users" && len(args) > 1 && args[1] == "add":
		return addUser(args[2:])
	case cmd == "validation" && len(args) > 1 && args[1] == "approve":
		return approveValidation(args[2:])
	case cmd == "certificates" && len(args) > 1 && args[1] == "list":
		return listCertificates(args[2:])
	case cmd == "tokens" && len(args) > 1 && args[1] == "list":
		return listTokens(args[2:])
	case cmd == "tokens" && len(args) > 1 && args[1] == "provision":
		return provisionToken(args[2:])
	case cmd == "tokens" && len(args) > 1 && args[1] == "ship":
		return shipToken(args[2:])
	case cmd == "ceremony":
		return ceremony(args[1:])
	case cmd == "ca" && len(args) > 1 && args[1] == "list":
		return listCAs(args[2:])
	case cmd == "ca" && len(args) > 1 && args[1] == "retire":
		return retireCA(args[2:])
	case cmd == "finance" && len(args) > 1 && args[1] == "deposit":
		return depositFunds(args[2:])
	case cmd == "promo" && len(args) > 1 && args[1] == "add":
		return addPromoCode(args[2:])
	case cmd == "audit" && len(args) > 1 && args[1] == "verify":
		return verifyAudit(args[2:])
	case cmd == "audit" && len(args) > 1 && args[1] == "export":
		return exportAudit(args[2:])
	case cmd == "backup":
		return backupDataDir(args[1:])
	case cmd == "restore":
		return restoreDataDir(args[1:])
	case cmd == "dev" && len(args) > 1 && args[1] == "seed":
		return devSeed(args[2:])
	case cmd == "-h" || cmd == "--help" || cmd == "help":
		fmt.Print(usage)
		return nil
	case strings.HasPrefix(cmd, "-"):
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q: flags go after the command, as in docsign-ca certificates list --data-dir DIR", joinArgs(args))
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", joinArgs(args))
	}
}

func joinArgs(args []string) string {
	if len(args) > 1 {
		return args[0] + " " + args[1]
	}
	return args[0]
}
