"""The seed stories, one text file each. Installed as the package
``monitor.bundled_seeds`` too, so that `monitor demo` finds them from any install."""
