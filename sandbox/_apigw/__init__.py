"""The parts of `sandbox.apigw`: request and result shapes per API type, routing, validation."""
