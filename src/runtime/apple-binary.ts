/** Where Apple's installer puts the `container` CLI; BERTH_CONTAINER_BIN overrides it. */
export const APPLE_CONTAINER_DEFAULT_BIN = '/usr/local/bin/container';
