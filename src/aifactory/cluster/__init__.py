"""The AI factory: racks (NVLink domains), scale-out blocks, power, and the allocation state."""
