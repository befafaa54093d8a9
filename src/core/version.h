/* version: the build's version string ("v0.1.0-3-gabc123"), generated from git at build time
 * into one object so that a new commit rebuilds one file, not the tree. */
#ifndef SURGE_VERSION_H
#define SURGE_VERSION_H

extern const char surge_version[];

#endif
