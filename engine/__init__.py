"""supa-engine: compile one supabase.yaml into a private, encrypted AWS deployment."""

__version__ = "0.1.0"
