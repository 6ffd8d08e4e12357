//go:build !noazure

package fetch

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob" // also registers the azblob:// URL opener (ambient credentials)
)

// openAzure opens an Azure container with a connection string (the key connectionString)
// or an account name and key (accountName, accountKey) from a mounted Secret.
func openAzure(ctx context.Context, containerName, dir string) (*blob.Bucket, error) {
	cs, err := secretValue(dir, "connectionString", "AZURE_STORAGE_CONNECTION_STRING")
	if err != nil {
		return nil, err
	}
	var client *container.Client
	if cs != "" {
		client, err = container.NewClientFromConnectionString(cs, containerName, nil)
	} else {
		account, _ := secretValue(dir, "accountName", "AZURE_STORAGE_ACCOUNT")
		key, _ := secretValue(dir, "accountKey", "AZURE_STORAGE_KEY")
		if account == "" || key == "" {
			return nil, fmt.Errorf("the credentials Secret at %s needs connectionString, or accountName and accountKey", dir)
		}
		cred, cerr := azblob.NewSharedKeyCredential(account, key)
		if cerr != nil {
			return nil, fmt.Errorf("the account key in the credentials Secret at %s: %w", dir, cerr)
		}
		client, err = container.NewClientWithSharedKeyCredential(fmt.Sprintf("https://%s.blob.core.windows.net/%s", account, containerName), cred, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("the credentials Secret at %s: %w", dir, err)
	}
	return azureblob.OpenBucket(ctx, client, nil)
}
