"""The Textual app: build a network with the keyboard, train it live, watch loss and devices."""
