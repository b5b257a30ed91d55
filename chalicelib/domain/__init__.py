"""The product, in pure Python: no boto3, pynamodb, chalice or powertools below this line."""
