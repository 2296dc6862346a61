"""Profit optimization: margins, pricing, inventory, marketing and retention."""
