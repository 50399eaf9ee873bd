package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docsign-ca/docsign-ca/internal/api"
	"github.com/docsign-ca/docsign-ca/internal/order"
	"github.com/docsign-ca/docsign-ca/internal/store"
)

// parseOperatorFlags parses flags of an operator command; -h is not an error.
func parseOperatorFlags(fs *flag.FlagSet, args []string, synopsis string) (help bool, err error) {
	fs.Usage = usageWithEnv(fs, synopsis)
	err = parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return true, nil
	}
	return false, err
}

func createAccount(args []string) error {
	fs := flag.NewFlagSet("docsign-ca accounts create", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of the server")
	name := fs.String("name", "", "account name (required)")
	username := fs.String("admin-username", "", "administrator's username (default: admin- followed by the account id)")
	email := fs.String("admin-email", "admin@localhost.localdomain", "administrator's e-mail address")
	policy := fs.String("approval-policy", store.ApprovalRequired,
		"required: every order waits for an approver; skip_for_administrators: an administrator's order is approved when placed")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca accounts create --name NAME [flags]"); help || err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("missing --name; give the account a name")
	}
	if *policy != store.ApprovalRequired && *policy != store.ApprovalSkipForAdministrators {
		return fmt.Errorf("invalid --approval-policy %q; allowed: %s, %s", *policy, store.ApprovalRequired, store.ApprovalSkipForAdministrators)
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	key, err := newAPIKey()
	if err != nil {
		return err
	}
	user := *username
	if user == "" {
		user = "admin-" + key[:8]
	}
	caller, err := st.CreateAccount(ctx, store.NewAccount{
		Name:           *name,
		ApprovalPolicy: *policy,
		Admin:          store.User{Username: user, FirstName: *name, LastName: "Administrator", Email: *email},
		KeyHash:        api.HashAPIKey(key),
		KeyPrefix:      key[:8],
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "created account %d (%s) with administrator %q (user %d); its API key follows and is shown only once\n",
		caller.Account.ID, caller.Account.Name, caller.User.Username, caller.User.ID)
	fmt.Println(key)
	return nil
}

func approveValidation(args []string) error {
	fs := flag.NewFlagSet("docsign-ca validation approve", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of the server")
	orgID := fs.Int64("organization", 0, "organization id (required)")
	typ := fs.String("type", "ds", "validation type; docsign-ca validates ds only")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca validation approve --organization N [--type ds]"); help || err != nil {
		return err
	}
	if *orgID <= 0 {
		return errors.New("missing --organization; give the organization id")
	}
	if *typ != "ds" {
		return fmt.Errorf("invalid --type %q; allowed: ds", *typ)
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	if _, err := st.OrganizationByID(ctx, *orgID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("organization %d not found", *orgID)
		}
		return err
	}
	until := time.Now().UTC().Add(order.ValidationLifetime)
	if err := st.CompleteValidation(ctx, *orgID, *typ, until); err != nil {
		return err
	}
	fmt.Printf("validation %s of organization %d is active until %s; a running server issues waiting orders within its --issue-interval\n",
		*typ, *orgID, until.Format(time.RFC3339))
	return nil
}

type certificateLine struct {
	Serial        string `json:"serial"`
	OrderID       int64  `json:"order"`
	CertificateID int64  `json:"certificate_id"`
	Status        string `json:"status"`
	Thumbprint    string `json:"thumbprint"`
	ValidFrom     string `json:"valid_from"`
	ValidTill     string `json:"valid_till"`
}

func listCertificates(args []string) error {
	fs := flag.NewFlagSet("docsign-ca certificates list", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./docsign-data", "data directory of the server")
	orderID := fs.Int64("order", 0, "list only the certificates of this order")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	if help, err := parseOperatorFlags(fs, args, "docsign-ca certificates list [--order N] [--json]"); help || err != nil {
		return err
	}

	ctx := context.Background()
	st, err := openExistingDataDir(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	certs, err := st.ListCertificates(ctx, *orderID)
	if err != nil {
		return err
	}

	lines := make([]certificateLine, 0, len(certs))
	for _, c := range certs {
		lines = append(lines, certificateLine{
			Serial: c.SerialNumber, OrderID: c.OrderID, CertificateID: c.ID, Status: c.Status, Thumbprint: c.Thumbprint,
			ValidFrom: c.ValidFrom.Format(time.RFC3339), ValidTill: c.ValidTill.Format(time.RFC3339),
		})
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIAL\tORDER\tCERTIFICATE\tSTATUS\tVALID FROM\tVALID TILL")
	for _, l := range lines {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", l.Serial, l.OrderID, l.CertificateID, l.Status, l.ValidFrom, l.ValidTill)
	}
	return tw.Flush()
}
