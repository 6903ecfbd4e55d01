/** `zmp/core`: nodes and channels on ZeroMQ. Knows nothing of the toolbox. */
export {};
