// Package drivers links the gocloud.dev drivers for the cloud blob stores
// and key managers a production deployment points Holdfast at. Only the
// mains import it: tests use file://, mem:// and base64key://.
package drivers

import (
	_ "gocloud.dev/blob/azureblob"        // azblob://
	_ "gocloud.dev/blob/fileblob"         // file://
	_ "gocloud.dev/blob/gcsblob"          // gs://
	_ "gocloud.dev/blob/memblob"          // mem://
	_ "gocloud.dev/blob/s3blob"           // s3://
	_ "gocloud.dev/secrets/awskms"        // awskms://
	_ "gocloud.dev/secrets/azurekeyvault" // azurekeyvault://
	_ "gocloud.dev/secrets/gcpkms"        // gcpkms://
	_ "gocloud.dev/secrets/hashivault"    // hashivault://
	_ "gocloud.dev/secrets/localsecrets"  // base64key://
)
