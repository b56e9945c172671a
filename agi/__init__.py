"""FastAGI lookup server for PBXes that route in their own dialplan (`pbxcrm agi`)."""
