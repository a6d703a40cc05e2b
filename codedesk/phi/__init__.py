"""Protected health information: the scrubber every stored or logged question goes through, and its
quality report (`python -m codedesk.phi.report`)."""
