// Package deploy checks the repository's docker-compose.yml (no Docker
// engine is needed): it is loaded with compose-go, the library Docker
// Compose itself uses, and its services, images, ports and the worker's
// settings are checked against each other and against Holdfast's config.
package deploy
